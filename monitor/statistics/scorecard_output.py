"""The scorecard as CSV and as a terminal table (HTML and PDF are rendered by `reports`).

CSV has one column per key of a JSON row, flattened: a CI `[lo, hi]` becomes
`<key>_lower` and `<key>_upper`, a norm `n` becomes `norm_n`, `norm_n_ci_lower`,
`norm_n_ci_upper`, and `previous` becomes `previous_notices`, `previous_median_hours`,
`previous_within_24h`. The totals row comes last with key `all`. Provider names are
hostile input: a text cell that a spreadsheet would run as a formula is prefixed with `'`,
and the terminal table never interprets markup in them.
"""

from __future__ import annotations

import csv
from typing import TextIO

from monitor.core.safe_output import csv_cell

PREVIOUS_KEYS = ("notices", "median_hours", "within_24h")


def flatten_row(row: dict, norm_keys: list[str]) -> dict:
    """One JSON row (or the totals) as flat CSV columns, in the JSON key order."""
    flat: dict = {}
    for key, value in row.items():
        if key == "norms":
            for norm in norm_keys:
                entry = value.get(norm, {"share": None, "ci": [None, None]})
                flat[f"norm_{norm}"] = entry["share"]
                flat[f"norm_{norm}_ci_lower"], flat[f"norm_{norm}_ci_upper"] = entry["ci"]
                flat[f"norm_{norm}_removed"] = entry.get("removed")
                flat[f"norm_{norm}_known"] = entry.get("known")
        elif key == "counts":
            for name, entry in value.items():
                flat[f"{name}_removed"], flat[f"{name}_known"] = entry["removed"], entry["known"]
        elif key == "previous":
            for name in PREVIOUS_KEYS:
                flat[f"previous_{name}"] = None if value is None else value[name]
        elif isinstance(value, list):
            flat[f"{key}_lower"], flat[f"{key}_upper"] = value
        else:
            flat[key] = value
    return flat


def _cell(value: object) -> str:
    # The one CSV cell rule of every CSV the monitor writes (formula cells neutralised).
    return csv_cell(value)


def csv_columns(scorecard: dict) -> list[str]:
    """The CSV header of a scorecard."""
    norm_keys = [norm["key"] for norm in scorecard["norms"]]
    columns = dict.fromkeys(flatten_row(scorecard["totals"], norm_keys))
    for row in scorecard["rows"]:  # keys only some rows have (network_id)
        columns.update(dict.fromkeys(flatten_row(row, norm_keys)))
    return list(columns)


def write_csv(scorecard: dict, out: TextIO) -> int:
    """Rows then the totals row as CSV; returns the number of data rows written."""
    norm_keys = [norm["key"] for norm in scorecard["norms"]]
    columns = csv_columns(scorecard)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    rows = [*scorecard["rows"], scorecard["totals"]]
    for row in rows:
        flat = flatten_row(row, norm_keys)
        writer.writerow([_cell(flat.get(column)) for column in columns])
    return len(rows)


def _hours(value: float | None) -> str:
    from monitor.core.durations import DAYS_ABOVE_HOURS, duration_text

    if value is None:
        return "-"
    return duration_text(value) if value > DAYS_ABOVE_HOURS else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _share_ci(value: float | None, ci: list) -> str:
    if value is None:
        return "-"
    low, high = ci
    return f"{_share(value)} ({_share(low)}-{_share(high)})"


def _bound(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def median_text(row: dict) -> str:
    """The median with its CI, `not reached`, or `(CI not estimable)`."""
    low, high = row["median_hours_ci"]
    if row["median_hours"] is None:
        return "not reached"
    if row.get("median_hours_ci_estimable") is False:
        return f"{_hours(row['median_hours'])} (CI not estimable)"
    upper = "open" if high is None else _bound(high)
    return f"{_hours(row['median_hours'])} ({_bound(low)}-{upper} h)"


def _count_share(row: dict, name: str, share: float | None, ci: list) -> str:
    """A low-volume row's share as counts: `3 of 4 (30%-95%)`."""
    counts = row.get("counts", {}).get(name) if name in WITHIN_NAMES else row["norms"].get(name)
    if share is None or not counts or "known" not in counts or not counts["known"]:
        return _share_ci(share, ci)
    low, high = ci
    return f"{counts['removed']} of {counts['known']} ({_share(low)}-{_share(high)})"


WITHIN_NAMES = ("within_24h", "within_72h", "within_7d")


def table_title(scorecard: dict) -> str:
    """`Scorecard Q4 2026 to date, 67 of 92 days by provider, as of ...` for text tables."""
    period = scorecard["period"]
    label = period["label"]
    if period.get("complete") is False:
        label += f" to date, {int(period['days_elapsed'])} of {round(period['days'])} days"
    return f"Scorecard {label} by {scorecard['by']}, as of {scorecard['as_of']}" + (
        f", known at {scorecard['known_at']}" if scorecard.get("known_at") else ""
    )


def ordered_rows(scorecard: dict) -> list[dict]:
    """Ranked providers first (by rank, low volume after), then the rows that are not
    providers (unknown, CDN-fronted), which are never ranked."""
    providers = [r for r in scorecard["rows"] if r.get("category", "provider") == "provider"]
    apart = [r for r in scorecard["rows"] if r.get("category", "provider") != "provider"]
    return sorted(providers, key=lambda r: (r["rank"] is None, r["rank"] or 0)) + apart


def rank_text(row: dict, is_total: bool) -> str:
    """The rank cell: a number, `low vol.`, `not ranked` (not a provider) or blank (totals)."""
    if is_total:
        return ""
    if row.get("category", "provider") != "provider":
        return "not ranked"
    return "low vol." if row["low_volume"] else str(row["rank"])


def row_name(row: dict, is_total: bool) -> str:
    """The name cell; a network row says whether it is keyed by AS number or by name."""
    name = "all notices" if is_total else str(row["name"])
    if not is_total and row.get("network_id"):
        key = str(row["key"])
        name += f" [{key if key.startswith('AS') else row['network_id'].split(' (')[0]}]"
    return name


def share_cells(scorecard: dict, row: dict, is_total: bool) -> list[str]:
    """Within-norm and within-7-days cells: share and CI, or counts for a low-volume row."""
    cells = []
    for norm in scorecard["norms"]:
        entry = row["norms"][norm["key"]]
        if not is_total and row.get("low_volume"):
            cells.append(_count_share(row, norm["key"], entry["share"], entry["ci"]))
        else:
            cells.append(_share_ci(entry["share"], entry["ci"]))
    seven_days = row.get("counts", {}).get("within_7d") or {}
    if not is_total and row.get("low_volume") and seven_days.get("known"):
        counts = row["counts"]["within_7d"]
        cells.append(f"{counts['removed']} of {counts['known']}")
    else:
        cells.append(_share(row["within_7d"]))
    return cells


def versions_lines(scorecard: dict) -> list[str]:
    """The data-version line and its warnings, for the foot of a text table."""
    versions = scorecard.get("data_versions")
    if not versions:
        return []
    from monitor.statistics.data_versions import versions_line

    return [versions_line(versions), *(f"warning: {w}" for w in versions["warnings"])]


def print_table(scorecard: dict, console=None) -> None:
    """The scorecard as a terminal table (rich), low-volume rows marked and unranked."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if console is None:
        terminal = Console()
        # A pipe or file gets the whole table on one line per row.
        console = Console(width=terminal.width if terminal.is_terminal else 250, highlight=False)
    longest = max((len(str(row["name"])) for row in scorecard["rows"]), default=10)
    title = table_title(scorecard)
    table = Table(title=Text(title), title_justify="left")
    for header in ("rank", "name", "country", "notices", "open", "median h (95% CI)", "p90 h"):
        if header == "name":
            table.add_column(header, overflow="fold", min_width=min(longest, 40))
        else:
            table.add_column(header, justify="left" if header == "country" else "right")
    for norm in scorecard["norms"]:
        table.add_column(Text(f"within {norm['label']}"), justify="right")
    table.add_column("within 7 days", justify="right")
    ordered = ordered_rows(scorecard)
    for row in [*ordered, scorecard["totals"]]:
        is_total = row is scorecard["totals"]
        rank, name = rank_text(row, is_total), row_name(row, is_total)
        cells = [
            rank,
            Text(name),
            Text(row["country"] or "-"),
            str(row["notices"]),
            str(row["open"]),
            median_text(row),
            _hours(row["p90_hours"]),
        ]
        cells.extend(share_cells(scorecard, row, is_total))
        table.add_row(*cells, end_section=not is_total and row is ordered[-1])
    console.print(table)
    console.print(
        f"Kaplan-Meier, content still online censored at its last check or the as-of time; "
        f"rows under {scorecard['min_notices']} notices are low volume (wide CIs, not ranked); "
        f"unknown and CDN-fronted rows are not providers and are never ranked. "
        f"Snapshot: {scorecard.get('snapshot_id') or 'not stored'}.",
        markup=False,
    )
    for line in versions_lines(scorecard):
        console.print(line, markup=False)
