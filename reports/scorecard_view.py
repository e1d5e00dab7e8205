"""What the scorecard shows, computed from a stored snapshot: columns, rows, summary.

Nothing here recomputes a statistic: every number comes from the snapshot (the contract's
scorecard JSON plus its extra keys), so the document states exactly the figures its
snapshot id names. Rows under the minimum number of notices are shown apart and carry no
rank; a statistic the snapshot holds as null is "not reached" or "n/a", never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.cells import Cell, count_cell, exact, hours_cell, share_cell
from reports.flag_text import FLAG_KIND_NAMES
from reports.language import N_, Language

# Labels of the shipped norms (monitor.statistics.norms.DEFAULT_NORMS) in the reader's language;
# a norm configured with another key shows its configured label.
NORM_NAMES = {
    "atkm_12h": N_("ATKM norm"),
    "industry_24h": N_("industry norm"),
    "inhope_72h": N_("INHOPE norm"),
}
GROUP_HEADERS = {"provider": N_("Provider"), "network": N_("Network"), "country": N_("Country")}


@dataclass(frozen=True)
class Column:
    """A table column: header, optional second header line, first sort direction."""

    key: str
    header: str
    sub: str | None = None
    direction: str = "desc"
    numeric: bool = True


@dataclass
class RowView:
    """One provider (or network, country) row as the template draws it."""

    key: str
    rank: int | None
    cells: list[Cell]
    outside: bool
    open_flags: int
    low_volume: bool


@dataclass
class ScorecardView:
    """Everything the scorecard template needs, already formatted."""

    snapshot: dict
    columns: list[Column]
    ranked: list[RowView]
    low_volume: list[RowView]
    apart: list[RowView]
    totals: RowView
    summary: list[dict]
    period_name: str
    previous_name: str | None
    flags_checked: bool
    sources: list[dict] = field(default_factory=list)


def norm_header(lang: Language, norm: dict) -> tuple[str, str]:
    """(`Within 12 h`, `ATKM norm`) for a configured norm."""
    hours = float(norm["hours"])
    if hours % 24 == 0 and hours >= 48:
        days = int(hours // 24)
        within = lang.ngettext("Within %(num)d day", "Within %(num)d days", days)
    else:
        digits = 0 if hours.is_integer() else 1
        within = lang.gettext(
            "Within %(hours)s", hours=lang.gettext("%(hours)s h", hours=lang.decimal(hours, digits))
        )
    name = NORM_NAMES.get(norm["key"])
    return within, lang.gettext(name) if name else str(norm["label"])


def describe_norms(lang: Language, norms: list[dict]) -> str:
    """`12 h (ATKM norm), 24 h (industry norm) and 3 days (INHOPE norm)`, in the language."""
    from babel.lists import format_list

    parts = []
    for norm in norms:
        within, name = norm_header(lang, norm)
        hours = within.split(" ", 1)[1] if " " in within else within
        parts.append(f"{hours} ({name})")
    return format_list(parts, locale=lang.locale) if parts else lang.gettext("n/a")


def columns(lang: Language, snapshot: dict, *, flags_checked: bool) -> list[Column]:
    """The scorecard's columns in order (rank first, drift flags last)."""
    _ = lang.gettext
    previous = snapshot.get("previous_period")
    versus = (
        _("vs %(period)s", period=lang.period_name(previous))
        if previous
        else _("vs previous period")
    )
    result = [
        Column("rank", _("Rank"), direction="asc"),
        Column(
            "name", _(GROUP_HEADERS.get(snapshot["by"], "Provider")), direction="asc", numeric=False
        ),
        Column("country", _("Country"), _("EU / INHOPE"), direction="asc", numeric=False),
        Column("notices", _("Notices"), versus if previous else None),
        Column("removed", _("Removed")),
        Column("open", _("Still online")),
        Column("median", _("Median time to removal"), _("95%% CI"), direction="asc"),
        Column("p90", _("90%% removed within"), direction="asc"),
    ]
    for norm in snapshot["norms"]:
        within, name = norm_header(lang, norm)
        result.append(Column(f"norm:{norm['key']}", within, f"{name}, {_('95%% CI')}"))
    result += [
        Column("change_median", _("Change in median"), versus, direction="asc"),
        Column("change_24h", _("Change within 24 h"), versus),
        Column("cdn", _("Behind a CDN"), _("share of notices")),
    ]
    if flags_checked:
        result.append(Column("flags", _("Open drift flags")))
    return result


def _country_cell(lang: Language, row: dict) -> tuple[Cell, bool]:
    _ = lang.gettext
    code = row.get("country")
    eu, inhope = row.get("eu"), row.get("inhope")
    outside = eu is False and inhope is False
    if eu is None and inhope is None:
        status = _("status unknown")
    elif outside:
        status = _("outside EU and INHOPE")
    else:
        status = " · ".join(
            part
            for part in (
                _("EU") if eu else (_("not EU") if eu is False else None),
                _("INHOPE") if inhope else (_("no INHOPE") if inhope is False else None),
            )
            if part
        )
    text = code or "?"
    css = "outside" if outside else ""
    return Cell(text, code or "", status, css=css, title=lang.country(code)), outside


def _change_cells(lang: Language, row: dict) -> list[Cell]:
    previous = row.get("previous")
    _ = lang.gettext
    if not previous:
        missing = Cell(_("n/a"), "", css="missing", title=_("No notices in the previous period"))
        return [missing, missing]
    median_now, median_before = row.get("median_hours"), previous.get("median_hours")
    if median_now is not None and median_before is not None:
        delta = median_now - median_before
        median = Cell(
            lang.hours_change(delta),
            exact(delta),
            _("was %(hours)s", hours=lang.hours(median_before)),
        )
    else:
        median = Cell(
            _("not comparable"),
            "",
            _("was %(hours)s", hours=lang.hours(median_before)),
            css="missing",
        )
    share_now, share_before = row.get("within_24h"), previous.get("within_24h")
    if share_now is not None and share_before is not None:
        delta = share_now - share_before
        within = Cell(
            lang.points(delta), exact(delta), _("was %(share)s", share=lang.share(share_before))
        )
    else:
        within = Cell(_("not comparable"), "", css="missing")
    return [median, within]


def _flags_cell(lang: Language, flags: list[dict]) -> Cell:
    if not flags:
        return Cell("0", "0")
    kinds = sorted({flag["kind"] for flag in flags})
    return Cell(
        lang.count(len(flags)),
        str(len(flags)),
        ", ".join(lang.gettext(FLAG_KIND_NAMES.get(kind, kind)) for kind in kinds),
        css="flagged",
    )


def _network_sub(lang: Language, row: dict) -> str | None:
    """What a network row is keyed on: its AS number, or its name and that name's source."""
    key = str(row.get("key", ""))
    if key.startswith("AS"):
        return key
    if key.startswith("name:"):
        return lang.gettext("AS name, no AS number (embedded network data)")
    return None


def row_view(
    lang: Language, snapshot: dict, row: dict, flags: list[dict] | None, *, total: bool = False
) -> RowView:
    """The cells of one row (or of the totals, `total=True`)."""
    _ = lang.gettext
    country, outside = _country_cell(lang, row)
    if total:
        country = Cell("", "")
    if snapshot["by"] == "network":
        name_sub = _network_sub(lang, row)
    else:
        name_sub = f"AS{row['asn']}" if row.get("asn") is not None else None
    previous = row.get("previous")
    notices_sub = None
    if previous and snapshot.get("previous_period"):
        notices_sub = _(
            "was %(count)s (%(change)s)",
            count=lang.count(previous["notices"]),
            change=lang.count_change(
                row["notices"], previous["notices"], snapshot["period"], snapshot["previous_period"]
            ),
        )
    removed_sub = None
    if row.get("removed_before_notice"):
        removed_sub = _(
            "+%(count)s before the notice", count=lang.count(row["removed_before_notice"])
        )
    cells = [
        Cell(
            _("all notices") if total else str(row["name"]),
            "" if total else str(row["name"]),
            name_sub,
        ),
        country,
        count_cell(lang, row["notices"], notices_sub),
        count_cell(lang, row["removed"], removed_sub),
        count_cell(lang, row["open"]),
        hours_cell(lang, row, "median_hours", "median_hours_ci", labelled=False),
        hours_cell(lang, row, "p90_hours"),
    ]
    for norm in snapshot["norms"]:
        entry = row["norms"].get(norm["key"], {"share": None, "ci": [None, None]})
        cells.append(
            share_cell(
                lang,
                entry["share"],
                entry["ci"],
                labelled=False,
                counts=entry if row.get("low_volume") and "known" in entry else None,
            )
        )
    cells += _change_cells(lang, row)
    cdn = row.get("cdn_share")
    cells.append(Cell(lang.share(cdn), exact(cdn), css="" if cdn is not None else "missing"))
    open_flags: list[dict] = []
    if flags is not None:
        open_flags = [f for f in flags if f.get("status", "open") == "open"]
        if not total:
            open_flags = [f for f in open_flags if f["subject"] == row["name"]]
        cells.append(_flags_cell(lang, open_flags))
    return RowView(
        key=str(row.get("key", row["name"])),
        rank=None if total else row.get("rank"),
        cells=cells,
        outside=outside,
        open_flags=len(open_flags),
        low_volume=bool(row.get("low_volume")),
    )


def summary(lang: Language, snapshot: dict) -> list[dict]:
    """The headline figures of the totals row: label, value, second line."""
    _ = lang.gettext
    totals = snapshot["totals"]
    items = [
        {"label": _("Notices"), "value": lang.count(totals["notices"]), "sub": None},
        {
            "label": _("Removed"),
            "value": lang.count(totals["removed"]),
            "sub": _(
                "+%(count)s before the notice", count=lang.count(totals["removed_before_notice"])
            )
            if totals.get("removed_before_notice")
            else None,
        },
        {"label": _("Still online"), "value": lang.count(totals["open"]), "sub": None},
    ]
    median = hours_cell(lang, totals, "median_hours", "median_hours_ci")
    items.append({"label": _("Median time to removal"), "value": median.text, "sub": median.sub})
    for norm in snapshot["norms"]:
        entry = totals["norms"].get(norm["key"], {"share": None, "ci": [None, None]})
        within, name = norm_header(lang, norm)
        cell = share_cell(lang, entry["share"], entry["ci"])
        items.append({"label": f"{within} ({name})", "value": cell.text, "sub": cell.sub})
    return items


def category(snapshot: dict, row: dict) -> str:
    """`provider`, `unknown` or `cdn` (stored in newer snapshots, derived for older ones)."""
    from monitor.statistics.scorecard import row_category

    return row.get("category") or row_category(snapshot["by"], row)


def scorecard_view(
    snapshot: dict,
    lang: Language,
    *,
    flags: list[dict] | None = None,
    sources: list[dict] | None = None,
) -> ScorecardView:
    """The view of `snapshot`; `flags` are the period's drift flags (None: not checked)."""
    rows = snapshot["rows"]
    providers = [r for r in rows if category(snapshot, r) == "provider"]
    ranked = [r for r in providers if not r.get("low_volume")]
    ranked.sort(key=lambda r: (r.get("rank") is None, r.get("rank") or 0, -r["notices"]))
    low = [r for r in providers if r.get("low_volume")]
    apart = [r for r in rows if category(snapshot, r) != "provider"]
    previous = snapshot.get("previous_period")
    return ScorecardView(
        snapshot=snapshot,
        columns=columns(lang, snapshot, flags_checked=flags is not None),
        ranked=[row_view(lang, snapshot, r, flags) for r in ranked],
        low_volume=[row_view(lang, snapshot, r, flags) for r in low],
        apart=[row_view(lang, snapshot, r, flags) for r in apart],
        totals=row_view(lang, snapshot, snapshot["totals"], flags, total=True),
        summary=summary(lang, snapshot),
        period_name=lang.period_name(snapshot["period"]),
        previous_name=lang.period_name(previous) if previous else None,
        flags_checked=flags is not None,
        sources=list(sources or snapshot.get("data_sources") or []),
    )
