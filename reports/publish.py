"""Publishing: store the figures as a snapshot, then write the documents from it.

`write_quarterly_reports` writes the whole quarterly set (scorecard html, pdf, csv, json;
briefing html, pdf); the scheduler's quarterly job and `monitor demo` call it.
`publish_briefing` is `monitor briefing`. Either way the figures are stored first as an
immutable snapshot and every document is rendered from that stored snapshot and names
its id, so a figure in a PDF can be traced and re-derived.

`publish_briefing` and `publish_scorecard` write `--out` through
`monitor.core.output_files.atomic_path`: only a regular file is replaced, keeping its mode.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.core.errors import ReportError
from monitor.core.output_files import atomic_path, atomic_text
from monitor.core.timeutil import as_utc, utcnow


def file_stem(label: str) -> str:
    """A period label made safe for a file name (`2026Q3`; `2026-07-01_2026-08-15`)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", label).strip("_") or "period"


def write_quarterly_reports(
    engine: Engine,
    *,
    period_label: str,
    out_dir,
    as_of: datetime | None = None,
    lang: str = "en",
) -> list[Path]:
    """Store the period's scorecard snapshot and write every document into `out_dir`.

    Returns the paths written: scorecard html, pdf, csv and json, briefing html and pdf.
    """
    from monitor.statistics.periods import parse_period
    from monitor.statistics.scorecard_output import write_csv
    from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot
    from reports.briefing_data import briefing_figures
    from reports.briefing_report import render_briefing
    from reports.language import translations
    from reports.period_flags import period_flags
    from reports.scorecard_report import render_scorecard
    from reports.sources import data_sources

    translations(lang)  # an unknown language fails before any work is done
    period = parse_period(period_label)
    as_of = as_utc(as_of) if as_of is not None else utcnow()
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=period.start,
        period_to=period.end,
        as_of=as_of,
        by="provider",
        label=period.label,
    )
    snapshot = load_snapshot(engine, snapshot_id)
    flags = period_flags(engine, period_from=period.start, period_to=period.end, as_of=as_of)
    sources = data_sources(engine)
    # The briefing's figures once, before any PDF: the ticket frame is freed before
    # WeasyPrint builds its page boxes, so the two never add up in memory.
    figures = briefing_figures(engine, snapshot)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(period.label)
    paths = []
    for fmt in ("html", "pdf"):
        paths.append(
            render_scorecard(
                snapshot,
                fmt,
                out / f"scorecard-{stem}-{lang}.{fmt}",
                lang,
                flags=flags,
                sources=sources,
            )
        )
    csv_path = out / f"scorecard-{stem}.csv"
    with atomic_text(csv_path) as handle:
        write_csv(snapshot, handle)
    json_path = out / f"scorecard-{stem}.json"
    with atomic_text(json_path) as handle:
        handle.write(json.dumps(snapshot, ensure_ascii=False, indent=2) + "\n")
    paths += [csv_path, json_path]
    for fmt in ("html", "pdf"):
        paths.append(
            render_briefing(
                snapshot,
                figures,
                fmt,
                out / f"briefing-{stem}-{lang}.{fmt}",
                lang,
                flags=flags,
                sources=sources,
            )
        )
    return paths


def publish_briefing(
    engine: Engine,
    *,
    out: Path,
    fmt: str = "pdf",
    lang: str = "en",
    period=None,
    snapshot_id: str | None = None,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    config=None,
) -> tuple[Path, str]:
    """Write the briefing of `period` (a `monitor.statistics.periods.Period`) or of a stored
    snapshot.

    Without `snapshot_id` the period's provider scorecard is computed as of `as_of`
    (default now) and stored first. Returns the path written and the snapshot id.
    """
    from monitor.core.timeutil import parse_timestamp
    from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot
    from reports.briefing_report import write_briefing
    from reports.language import translations
    from reports.period_flags import period_flags
    from reports.sources import data_sources

    translations(lang)
    if fmt not in ("html", "pdf"):
        raise ReportError(f"unknown briefing format {fmt!r}; use html or pdf")
    if snapshot_id is None:
        if period is None:
            raise ReportError("a briefing needs a period or a stored snapshot id")
        snapshot_id = store_scorecard_snapshot(
            engine,
            period_from=period.start,
            period_to=period.end,
            as_of=as_utc(as_of) if as_of is not None else utcnow(),
            by="provider",
            label=period.label,
            known_at=known_at,
            config=config,
        )
    snapshot = load_snapshot(engine, snapshot_id)
    if snapshot["by"] != "provider":
        raise ReportError(
            f"snapshot {snapshot_id} is grouped by {snapshot['by']}; "
            "a briefing needs one grouped by provider"
        )
    flags = period_flags(
        engine,
        period_from=parse_timestamp(snapshot["period"]["from"]),
        period_to=parse_timestamp(snapshot["period"]["to"]),
        as_of=parse_timestamp(snapshot["as_of"]),
    )
    sources = data_sources(engine)
    with atomic_path(out) as temporary:
        write_briefing(engine, snapshot, fmt, temporary, lang, flags=flags, sources=sources)
    return Path(out).expanduser(), snapshot_id


def publish_scorecard(engine: Engine, snapshot: dict, fmt: str, out, lang: str = "en") -> Path:
    """Render a stored snapshot's scorecard with its period's drift flags and data sources.

    What `monitor scorecard --format html|pdf` needs: the flags column is shown for a
    scorecard by provider (flags name providers); the sources come from the database.
    """
    from monitor.core.timeutil import parse_timestamp
    from reports.period_flags import period_flags
    from reports.scorecard_report import render_scorecard
    from reports.sources import data_sources

    flags = None
    if snapshot.get("by") == "provider":
        flags = period_flags(
            engine,
            period_from=parse_timestamp(snapshot["period"]["from"]),
            period_to=parse_timestamp(snapshot["period"]["to"]),
            as_of=parse_timestamp(snapshot["as_of"]),
        )
    sources = data_sources(engine)
    with atomic_path(out) as temporary:
        render_scorecard(snapshot, fmt, temporary, lang, flags=flags, sources=sources)
    return Path(out).expanduser()
