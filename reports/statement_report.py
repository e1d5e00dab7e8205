"""A statement to one hosting provider (HTML or PDF, English or Dutch), and the batch of them.

`publish_statements` stores the period's provider scorecard as a snapshot first (as the
briefing does), takes the sizes from its rows, computes the re-appearances once and
writes one document per provider: `monitor statement PROVIDER` or `--all`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.core.errors import ReportError
from monitor.core.timeutil import as_utc, parse_timestamp, utcnow
from monitor.statistics.norms import StatisticsConfig
from monitor.statistics.periods import Period
from reports.briefing_report import reappearance_estimate
from reports.language import Language
from reports.rendering import render_html, write_document
from reports.scorecard_view import norm_header
from reports.statement_data import Shared, statement_figures, statement_providers

FORMATS = ("html", "pdf")


def _hours_ci(lang: Language, value, ci) -> tuple[str, str | None]:
    if value is None:
        return lang.gettext("not reached"), None
    return lang.hours(value), lang.hours_interval(ci)


def _share_ci(lang: Language, entry: dict | None) -> tuple[str, str | None]:
    if not entry or entry.get("share") is None:
        return lang.gettext("n/a"), None
    return lang.share(entry["share"]), lang.share_interval(entry.get("ci"))


def _norm_rows(lang: Language, figures: dict, norms: list[dict]) -> list[dict]:
    row, totals, peers = figures["row"], figures["totals"], figures["peers"]
    mine, sub = _hours_ci(lang, row["median_hours"], row["median_hours_ci"])
    result = [
        {
            "label": lang.gettext("Median time to removal"),
            "sub": None,
            "mine": mine,
            "mine_ci": sub,
            "all": _hours_ci(lang, totals["median_hours"], totals["median_hours_ci"])[0],
            "peers": lang.hours(peers["median_hours"]),
        }
    ]
    for norm in norms:
        within, name = norm_header(lang, norm)
        share, ci = _share_ci(lang, row["norms"].get(norm["key"]))
        peer = peers["norms"].get(norm["key"])
        result.append(
            {
                "label": within,
                "sub": name,
                "mine": share,
                "mine_ci": ci,
                "all": _share_ci(lang, totals["norms"].get(norm["key"]))[0],
                "peers": lang.share(peer),
            }
        )
    return result


def _quarter_rows(lang: Language, trend: dict) -> list[dict]:
    rows = []
    for quarter in trend["quarters"]:
        # A trend quarter's `days` are the days elapsed, not the period_name contract's.
        name = lang.period_name({key: quarter[key] for key in ("label", "from", "to")})
        if not quarter["complete"]:
            name = lang.gettext("%(period)s to date", period=name)
        median, median_ci = _hours_ci(lang, quarter["median_hours"], quarter["median_hours_ci"])
        if not quarter["notices"]:
            median, median_ci = "–", None
        rows.append(
            {
                "name": name,
                "notices": lang.count(quarter["notices"]),
                "median": median,
                "median_ci": median_ci,
                "norms": [
                    _share_ci(lang, quarter["norms"][norm["key"]])
                    if quarter["notices"]
                    else ("–", None)
                    for norm in trend["norms"]
                ],
                "snapshot_id": quarter.get("snapshot_id"),
                "low_volume": quarter["low_volume"] and quarter["notices"] > 0,
            }
        )
    return rows


def _age(lang: Language, hours: float) -> str:
    """How long a notice has been open: hours up to three days, then whole days."""
    if hours <= 72:
        return lang.hours(hours)
    days = int(hours // 24)
    return lang.ngettext("%(num)d day", "%(num)d days", days).replace(" ", "\u00a0")


def _reappearance_view(lang: Language, figures: dict | None) -> dict | None:
    if not figures or not figures["removed"]:
        return None
    estimate = reappearance_estimate(lang, figures)
    where = figures["reappeared_where"]
    return {
        "removed": lang.count(figures["removed"]),
        "within_30d": lang.count(figures["reappeared_30d"]),
        "within_90d": lang.count(figures["reappeared_90d"]),
        "at_all": lang.count(figures["reappeared"]),
        "estimate": estimate,
        "where": [
            (lang.gettext("with you again"), lang.count(where["same_provider"])),
            (
                lang.gettext("at another provider in the EU or an INHOPE country"),
                lang.count(where["other_inside"]),
            ),
            (lang.gettext("outside the EU and INHOPE"), lang.count(where["outside"])),
            (lang.gettext("hosting not known"), lang.count(where["unknown"])),
        ],
    }


def statement_view(figures: dict, snapshot: dict, lang: Language) -> dict:
    """What the statement template shows, formatted in `lang`."""
    row = figures["row"]
    size = figures["size"]
    size_text = lang.gettext("unknown")
    per_100k = lang.gettext("unknown")
    if size["addresses"]:
        size_text = lang.count(size["addresses"])
        per_100k = lang.decimal(figures["size"]["notices_per_100k"], 2)
    basis = None
    if size["basis"] == "analyst":
        basis = lang.gettext("figure supplied by an analyst")
    elif size["basis"]:
        basis = lang.gettext("prefix table %(version)s", version=size["basis"])
    median, median_ci = _hours_ci(lang, row["median_hours"], row["median_hours_ci"])
    cards = [
        {"label": lang.gettext("Notices"), "value": lang.count(row["notices"]), "sub": None},
        {"label": lang.gettext("Removed"), "value": lang.count(row["removed"]), "sub": None},
        {"label": lang.gettext("Still online"), "value": lang.count(row["open"]), "sub": None},
        {
            "label": lang.gettext("Median time to removal"),
            "value": median,
            "sub": lang.gettext("95%% CI %(interval)s", interval=median_ci) if median_ci else None,
        },
        {
            "label": lang.gettext("Notices per 100,000 announced addresses"),
            "value": per_100k,
            "sub": lang.gettext("%(addresses)s addresses", addresses=size_text)
            if size["addresses"]
            else None,
        },
    ]
    open_rows = [
        {
            "ticket_id": item["ticket_id"],
            "source": item["source"],
            "url_hash": item["url_hash"],
            "notified_at": parse_timestamp(item["notified_at"]).strftime("%Y-%m-%d %H:%M"),
            "age": _age(lang, item["age_hours"]),
        }
        for item in figures["open"]["listed"]
    ]
    return {
        "provider": figures["provider"],
        "period_name": lang.period_name(snapshot["period"]),
        "period_phrase": lang.period_phrase(snapshot["period"]),
        "cards": cards,
        "rank": row.get("rank"),
        "peers": figures["peers"]["providers"],
        "low_volume": row.get("low_volume", False),
        "removed_before_notice": row.get("removed_before_notice", 0),
        "norm_rows": _norm_rows(lang, figures, snapshot["norms"]),
        "quarters": _quarter_rows(lang, figures["trend"]),
        "norm_headers": [norm_header(lang, norm) for norm in snapshot["norms"]],
        "reappearance": _reappearance_view(lang, figures["reappearance"]),
        "open_total": figures["open"]["total"],
        "open_rows": open_rows,
        "open_more": figures["open"]["total"] - len(open_rows),
        "size_text": size_text,
        "size_basis": basis,
    }


def statement_html(figures: dict, snapshot: dict, lang: str = "en") -> str:
    """The statement of one provider as one self-contained HTML file."""
    language = Language(lang)
    view = statement_view(figures, snapshot, language)
    return render_html("statement.html.j2", lang, view=view, snapshot=snapshot)


def file_name(provider: str, label: str, lang: str, fmt: str) -> str:
    """`statement-<provider>-<period>-<lang>.<fmt>`, the provider made safe for a file name."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", provider).strip("-").lower()[:60] or "provider"
    period = re.sub(r"[^A-Za-z0-9_-]+", "_", label).strip("_") or "period"
    return f"statement-{stem}-{period}-{lang}.{fmt}"


def prepare(
    engine: Engine,
    *,
    period: Period,
    as_of: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> Shared:
    """Store the period's provider scorecard and compute what every statement shares."""
    from monitor.statistics.reappearance import compute_reappearance
    from monitor.statistics.snapshots import load_snapshot, store_scorecard_snapshot

    config = config or StatisticsConfig()
    as_of = as_utc(as_of) if as_of is not None else utcnow()
    snapshot_id = store_scorecard_snapshot(
        engine,
        period_from=period.start,
        period_to=period.end,
        as_of=as_of,
        by="provider",
        label=period.label,
        config=config,
    )
    snapshot = load_snapshot(engine, snapshot_id)
    return Shared(
        snapshot=snapshot,
        period=replace(period),
        as_of=parse_timestamp(snapshot["as_of"]),
        reappearance=compute_reappearance(engine, period=period, as_of=as_of),
        config=config,
    )


def publish_statements(
    engine: Engine,
    *,
    period: Period,
    out: Path,
    providers: list[str] | None = None,
    fmt: str = "pdf",
    lang: str = "en",
    as_of: datetime | None = None,
    config: StatisticsConfig | None = None,
) -> tuple[list[Path], str]:
    """Write statements; `providers` None means every provider above the minimum, into the
    directory `out`; one named provider is written to the file `out`. Returns the paths and
    the snapshot id."""
    Language(lang).translations  # an unknown language fails before any work  # noqa: B018
    if fmt not in FORMATS:
        raise ReportError(f"unknown statement format {fmt!r}; use html or pdf")
    shared = prepare(engine, period=period, as_of=as_of, config=config)
    snapshot = shared.snapshot
    paths = []
    if providers is None:
        names = statement_providers(snapshot)
        out = Path(out)
        for name in names:
            figures = statement_figures(engine, shared, name)
            html = statement_html(figures, snapshot, lang)
            target = out / file_name(name, snapshot["period"]["label"], lang, fmt)
            paths.append(write_document(html, fmt, target))
    else:
        for name in providers:
            figures = statement_figures(engine, shared, name)
            paths.append(write_document(statement_html(figures, snapshot, lang), fmt, Path(out)))
    return paths, snapshot["snapshot_id"]
