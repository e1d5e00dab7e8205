"""The quarterly provider scorecard as a document: HTML (sortable, offline) or PDF."""

from __future__ import annotations

from pathlib import Path

from monitor.core.errors import ReportError
from reports.language import Language
from reports.rendering import render_html, write_document
from reports.scorecard_view import scorecard_view

REQUIRED_KEYS = ("period", "as_of", "by", "rows", "totals", "norms", "min_notices")


def scorecard_html(
    snapshot: dict,
    lang: str = "en",
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
    for_print: bool = False,
) -> str:
    """The scorecard HTML of a stored snapshot (one self-contained file).

    `for_print` leaves out what only works on a screen (sort buttons, filters, script):
    the PDF is rendered from that variant of the same template.
    """
    missing = [key for key in REQUIRED_KEYS if key not in snapshot]
    if missing:
        raise ReportError(f"not a scorecard snapshot: missing {', '.join(missing)}")
    language = Language(lang)
    view = scorecard_view(snapshot, language, flags=flags, sources=sources)
    return render_html(
        "scorecard.html.j2",
        lang,
        view=view,
        flags_checked=view.flags_checked,
        snapshot=snapshot,
        sources=view.sources,
        for_print=for_print,
    )


def render_scorecard(
    snapshot: dict,
    fmt: str,
    out: Path,
    lang: str = "en",
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
) -> Path:
    """Write the scorecard of `snapshot` as `fmt` (html or pdf) to `out`; returns `out`.

    `flags` are the period's drift flags (`reports.period_flags`); without them the
    document says drift flags were not checked. `sources` name the reference data and
    versions behind the figures (`reports.data_sources`).
    """
    html = scorecard_html(snapshot, lang, flags=flags, sources=sources, for_print=fmt == "pdf")
    return write_document(html, fmt, Path(out))
