"""The ministry briefing: two to four pages of headline figures, charts and plain sentences.

Rendered from a stored scorecard snapshot (whose id it prints on every page) plus the
briefing's own figures (`reports.briefing_data`) computed from the same tickets as of
the same time, and the period's drift flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup
from sqlalchemy.engine import Engine

from reports.briefing_data import BriefingFigures, briefing_figures, month_bounds
from reports.cells import Cell, count_cell, hours_cell, share_cell
from reports.charts import jurisdiction_chart, norms_chart, survival_chart
from reports.flag_text import flag_sentence
from reports.language import Language
from reports.rendering import render_html, write_document
from reports.scorecard_view import category, norm_header
from reports.trend_chart import norm_labels, trend_chart

TOP_PROVIDERS = 8
CHART_PROVIDERS = 8


@dataclass
class BriefingView:
    """Everything the briefing template needs, already formatted."""

    snapshot: dict
    period_name: str
    period_phrase: str
    previous_name: str | None
    cards: list[dict]
    summary: list[Markup]
    charts: dict[str, Markup]
    norm_headers: list[tuple[str, str]]
    top_rows: list[dict]
    flags: list[Markup]
    flags_checked: bool
    outside_caption: str
    trend: list[dict] | None = None
    trend_note: str | None = None
    reappearance: dict | None = None
    reappearance_checked: bool = False


def _change_sub(lang: Language, previous_name: str | None, text: str | None) -> str | None:
    if previous_name is None or text is None:
        return None
    return lang.gettext("%(change)s vs %(period)s", change=text, period=previous_name)


def _cards(
    lang: Language, snapshot: dict, figures: BriefingFigures, previous_name: str | None
) -> list[dict]:
    _ = lang.gettext
    totals = snapshot["totals"]
    previous = totals.get("previous") or {}
    median = hours_cell(lang, totals, "median_hours", "median_hours_ci")
    within = share_cell(lang, totals.get("within_24h"), totals.get("within_24h_ci"))
    cards = [
        {
            "label": _("Notices sent"),
            "value": lang.count(totals["notices"]),
            "sub": _change_sub(
                lang,
                previous_name,
                lang.count_change(
                    totals["notices"],
                    previous.get("notices"),
                    snapshot["period"],
                    snapshot["previous_period"],
                )
                if previous and snapshot.get("previous_period")
                else None,
            ),
        },
        {
            "label": _("Median time to removal"),
            "value": median.text,
            "sub": " · ".join(
                part
                for part in (
                    median.sub,
                    _("was %(hours)s", hours=lang.hours(previous.get("median_hours")))
                    if previous
                    else None,
                )
                if part
            ),
        },
        {
            "label": _("Removed within 24 hours"),
            "value": within.text,
            "sub": " · ".join(
                part
                for part in (
                    within.sub,
                    _change_sub(
                        lang,
                        previous_name,
                        lang.points(totals["within_24h"] - previous["within_24h"]),
                    )
                    if previous.get("within_24h") is not None
                    and totals.get("within_24h") is not None
                    else None,
                )
                if part
            ),
        },
        {
            "label": _("Hosted outside the EU and INHOPE"),
            "value": lang.share(figures.outside_now.value),
            "sub": _change_sub(
                lang,
                previous_name,
                lang.points(figures.outside_now.value - figures.outside_before.value)
                if figures.outside_before is not None
                and figures.outside_before.value is not None
                and figures.outside_now.value is not None
                else None,
            ),
        },
        {
            "label": _("Still online at the as-of time"),
            "value": lang.count(totals["open"]),
            "sub": _(
                "%(share)s of the notices", share=lang.share(totals["open"] / totals["notices"])
            )
            if totals["notices"]
            else None,
        },
    ]
    return cards


def _confidence_sentences(lang: Language, figures: BriefingFigures) -> list[Markup]:
    """How much of the outside share rests on INHOPE rows not confirmed, and the table's origin."""
    from providers.jurisdictions import INHOPE_TABLE_CHECKED

    counts = figures.outside_now.by_confidence
    outside = figures.outside_now.outside
    if not counts or not outside:
        return []
    unsure = counts.get("likely", 0) + counts.get("uncertain", 0)
    if not unsure:
        return [lang.markup("Every country counted outside rests on a confirmed INHOPE entry.")]
    return [
        lang.markup(
            "Of the notices counted outside, %(likely)s rest on an INHOPE entry that is only "
            "likely and %(uncertain)s on one that is uncertain (%(share)s of them); the INHOPE "
            "table was compiled from INHOPE's own pages and reports and last checked on "
            "%(checked)s. An analyst corrects it with monitor reference set.",
            likely=lang.count(counts.get("likely", 0)),
            uncertain=lang.count(counts.get("uncertain", 0)),
            share=lang.share(unsure / outside),
            checked=lang.date(INHOPE_TABLE_CHECKED),
        )
    ]


def _summary(
    lang: Language,
    snapshot: dict,
    figures: BriefingFigures,
    period_name: str,
    previous_name: str | None,
    flag_count: int | None,
) -> list[Markup]:
    totals = snapshot["totals"]
    previous = totals.get("previous")
    sentences = []
    if previous and previous_name:
        sentences.append(
            lang.markup(
                "In %(period)s the hotline sent %(notices)s notices to hosting providers "
                "(%(previous_period)s: %(previous)s).",
                period=lang.period_phrase(snapshot["period"]),
                notices=lang.count(totals["notices"]),
                previous_period=previous_name,
                previous=lang.count(previous["notices"]),
            )
        )
    else:
        sentences.append(
            lang.markup(
                "In %(period)s the hotline sent %(notices)s notices to hosting providers.",
                period=lang.period_phrase(snapshot["period"]),
                notices=lang.count(totals["notices"]),
            )
        )
    followed = totals["removed"] + totals["open"]
    within = totals.get("within_24h")
    if followed and totals.get("median_hours") is not None and within is not None:
        sentences.append(
            lang.markup(
                "Half of the reported content was removed within %(median)s; %(within)s was "
                "removed within 24 hours.",
                median=lang.hours(totals["median_hours"]),
                within=lang.share(within),
            )
        )
    elif followed and totals.get("median_hours") is None:
        sentences.append(
            lang.markup("Less than half of the reported content has been removed so far.")
        )
    if figures.outside_now.value is not None:
        sentences.append(
            lang.markup(
                "%(share)s of the notices concerned content hosted outside the EU in a country "
                "without an INHOPE hotline, where hotlines cannot act.",
                share=lang.share(figures.outside_now.value),
            )
        )
    sentences += _confidence_sentences(lang, figures)
    if flag_count == 0:
        sentences.append(lang.markup("The drift check raised no flags in this period."))
    elif flag_count is not None:
        sentences.append(
            lang.nmarkup(
                "The drift check raised %(num)d flag in this period.",
                "The drift check raised %(num)d flags in this period.",
                flag_count,
            )
        )
    return sentences


def _top_rows(lang: Language, snapshot: dict) -> list[dict]:
    rows = sorted(snapshot["rows"], key=lambda row: (-row["notices"], str(row["name"])))[
        :TOP_PROVIDERS
    ]
    result = []
    for row in rows:
        cells: list[Cell] = [
            count_cell(lang, row["notices"]),
            hours_cell(lang, row, "median_hours", "median_hours_ci"),
        ]
        for norm in snapshot["norms"]:
            entry = row["norms"].get(norm["key"], {"share": None, "ci": [None, None]})
            cells.append(
                share_cell(
                    lang,
                    entry["share"],
                    entry["ci"],
                    counts=entry if row.get("low_volume") and "known" in entry else None,
                )
            )
        cells.append(count_cell(lang, row["open"]))
        outside = row.get("eu") is False and row.get("inhope") is False
        result.append(
            {
                "key": str(row.get("key", row["name"])),
                "name": str(row["name"]),
                "country": row.get("country") or "?",
                "country_name": lang.country(row.get("country")),
                "outside": outside,
                "low_volume": bool(row.get("low_volume")),
                "not_provider": category(snapshot, row) != "provider",
                "cells": cells,
            }
        )
    return result


def drawable_trend(trend: dict) -> dict:
    """The trend with every interval widened to hold its value (a stored snapshot's median
    can lie on its interval's rounded edge), so error bars never get a negative length."""
    import copy

    def hold(value, ci):
        if value is None or not ci:
            return ci
        low, high = ci
        return [
            None if low is None else min(low, value),
            None if high is None else max(high, value),
        ]

    trend = copy.deepcopy(trend)
    for quarter in trend["quarters"]:
        quarter["median_hours_ci"] = hold(quarter["median_hours"], quarter["median_hours_ci"])
        for entry in quarter["norms"].values():
            entry["ci"] = hold(entry["share"], entry["ci"])
        quarter["outside"]["ci"] = hold(quarter["outside"]["share"], quarter["outside"]["ci"])
    return trend


def _share_pair(lang: Language, share, ci) -> tuple[str, str | None]:
    if share is None:
        return lang.gettext("n/a"), None
    return lang.share(share), lang.share_interval(ci)


def trend_rows(lang: Language, trend: dict) -> list[dict]:
    """The trend table's rows: per quarter notices, median, norm shares and the outside
    share, each with its 95 % interval ('–' for a quarter without notices)."""
    rows = []
    for quarter in trend["quarters"]:
        # A trend quarter's `days` are the days elapsed, not the period_name contract's.
        name = lang.period_name({key: quarter[key] for key in ("label", "from", "to")})
        if not quarter["complete"]:
            name = lang.gettext("%(period)s to date", period=name)
        empty = not quarter["notices"]
        if empty:
            median, median_ci = "–", None
        elif quarter["median_hours"] is None:
            median, median_ci = lang.gettext("not reached"), None
        else:
            median = lang.hours(quarter["median_hours"])
            median_ci = lang.hours_interval(quarter["median_hours_ci"])
        outside = quarter["outside"]
        rows.append(
            {
                "name": name,
                "notices": lang.count(quarter["notices"]),
                "median": median,
                "median_ci": median_ci,
                "norms": [
                    ("–", None)
                    if empty
                    else _share_pair(
                        lang,
                        quarter["norms"][norm["key"]]["share"],
                        quarter["norms"][norm["key"]]["ci"],
                    )
                    for norm in trend["norms"]
                ],
                "outside": ("–", None)
                if empty
                else _share_pair(lang, outside["share"], outside["ci"]),
                "low_volume": bool(quarter["low_volume"]) and not empty,
                "snapshot_id": quarter.get("snapshot_id"),
            }
        )
    return rows


def _trend_note(lang: Language, trend: dict) -> str:
    stored = [q["snapshot_id"] for q in trend["quarters"] if q.get("snapshot_id")]
    if not stored:
        return lang.gettext(
            "Every quarter is computed from the tickets as of the briefing's as-of time."
        )
    return lang.ngettext(
        "%(num)d quarter repeats the figures of its stored snapshot; the others are computed "
        "from the tickets as of the briefing's as-of time.",
        "%(num)d quarters repeat the figures of their stored snapshots; the others are computed "
        "from the tickets as of the briefing's as-of time.",
        len(stored),
    )


def reappearance_estimate(lang: Language, figures: dict) -> str:
    """The Kaplan-Meier share of removed items back within 90 days (else 30) with its
    interval, as a sentence; or that the removals are too recent (briefing and statement)."""
    for days in (90, 30):
        share = figures[f"reappeared_{days}d_share"]
        if share is not None:
            return lang.gettext(
                "Allowing for the time each removed item has been followed, an estimated "
                "%(share)s came back within %(days)s days (95%% CI %(interval)s).",
                share=lang.share(share),
                days=days,
                interval=lang.share_interval(figures[f"reappeared_{days}d_share_ci"]),
            )
    return lang.gettext("The removals are too recent to estimate a share yet.")


def reappearance_view(lang: Language, figures: dict | None) -> dict | None:
    """All notices' re-appearance in sentences and a where-table (None: nothing removed)."""
    entry = (figures or {}).get("all")
    if not entry or not entry["removed"]:
        return None
    estimate = reappearance_estimate(lang, entry)
    where = entry["reappeared_where"]
    return {
        "removed": lang.count(entry["removed"]),
        "at_all": lang.count(entry["reappeared"]),
        "within_30d": lang.count(entry["reappeared_30d"]),
        "within_90d": lang.count(entry["reappeared_90d"]),
        "estimate": estimate,
        "where": lang.gettext(
            "It was found again at the same provider %(same)s times, at another provider in the "
            "EU or an INHOPE country %(inside)s times, outside the EU and INHOPE %(outside)s "
            "times, and where the hosting is not known %(unknown)s times. Only content reported "
            "to the hotline again is seen, so these are lower bounds.",
            same=lang.count(where["same_provider"]),
            inside=lang.count(where["other_inside"]),
            outside=lang.count(where["outside"]),
            unknown=lang.count(where["unknown"]),
        ),
    }


def briefing_view(
    snapshot: dict, figures: BriefingFigures, lang: Language, *, flags: list[dict] | None
) -> BriefingView:
    """The view of a briefing; `flags` are the period's drift flags (None: not checked)."""
    _ = lang.gettext
    period_name = lang.period_name(snapshot["period"])
    previous = snapshot.get("previous_period")
    previous_name = lang.period_name(previous) if previous else None
    headers = [norm_header(lang, norm) for norm in snapshot["norms"]]
    chart_rows = sorted(snapshot["rows"], key=lambda row: (-row["notices"], str(row["name"])))
    chart_rows = [
        row
        for row in chart_rows
        if not row.get("low_volume") and category(snapshot, row) == "provider"
    ][:CHART_PROVIDERS]
    charts = {
        "jurisdiction": jurisdiction_chart(
            figures.months, lang, highlight=month_bounds(snapshot["period"])
        ),
        "norms": norms_chart(
            chart_rows, snapshot["norms"], [f"{w} ({n})" for w, n in headers], lang
        ),
        "survival": survival_chart(
            figures.curves, [float(n["hours"]) for n in snapshot["norms"]], lang
        ),
    }
    if figures.trend is not None:
        charts["trend"] = trend_chart(
            drawable_trend(figures.trend), norm_labels(lang, figures.trend["norms"]), lang
        )
    unknown = figures.outside_now.unknown
    return BriefingView(
        snapshot=snapshot,
        period_name=period_name,
        period_phrase=lang.period_phrase(snapshot["period"]),
        previous_name=previous_name,
        cards=_cards(lang, snapshot, figures, previous_name),
        summary=_summary(
            lang,
            snapshot,
            figures,
            period_name,
            previous_name,
            None if flags is None else len(flags),
        ),
        charts=charts,
        norm_headers=headers,
        top_rows=_top_rows(lang, snapshot),
        flags=[flag_sentence(lang, flag) for flag in flags or []],
        flags_checked=flags is not None,
        outside_caption=lang.ngettext(
            "%(num)d notice of the period with unknown jurisdiction or behind a CDN is left out "
            "of the shares.",
            "%(num)d notices of the period with unknown jurisdiction or behind a CDN are left "
            "out of the shares.",
            unknown,
        ),
        trend=None if figures.trend is None else trend_rows(lang, figures.trend),
        trend_note=None if figures.trend is None else _trend_note(lang, figures.trend),
        reappearance=reappearance_view(lang, figures.reappearance),
        reappearance_checked=figures.reappearance is not None,
    )


def briefing_html(
    snapshot: dict,
    figures: BriefingFigures,
    lang: str = "en",
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
    for_print: bool = False,
) -> str:
    """The briefing HTML (one self-contained file)."""
    language = Language(lang)
    view = briefing_view(snapshot, figures, language, flags=flags)
    return render_html(
        "briefing.html.j2",
        lang,
        view=view,
        snapshot=snapshot,
        sources=list(sources or snapshot.get("data_sources") or []),
        flags_checked=view.flags_checked,
        for_print=for_print,
    )


def render_briefing(
    snapshot: dict,
    figures: BriefingFigures,
    fmt: str,
    out: Path,
    lang: str = "en",
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
) -> Path:
    """Write the briefing as `fmt` (html or pdf) to `out`; returns `out`."""
    html = briefing_html(
        snapshot, figures, lang, flags=flags, sources=sources, for_print=fmt == "pdf"
    )
    return write_document(html, fmt, Path(out))


def write_briefing(
    engine: Engine,
    snapshot: dict,
    fmt: str,
    out: Path,
    lang: str = "en",
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
) -> Path:
    """Compute the briefing's figures for `snapshot` from `engine` and write the document."""
    return render_briefing(
        snapshot, briefing_figures(engine, snapshot), fmt, out, lang, flags=flags, sources=sources
    )
