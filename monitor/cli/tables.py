"""Terminal tables that fit the terminal: the scorecard, a provider's quarters, overdue notices.

A table wider than the console is laid out compactly instead of being cut: confidence
intervals go under their figure, headers wrap, the box loses its vertical lines. Nothing
in a cell is replaced by an ellipsis; JSON and CSV carry every figure in full.
"""

from __future__ import annotations

import re

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.cli.output import cell, console, print_table
from monitor.core.durations import duration_text

FULL_SCORECARD_WIDTH = 180


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _compact_median(text: str) -> str:
    """The median cell of the compact table: figure, then its CI in whole hours without the
    unit on a line of its own (`49.0` / `(18-155)`); a duration in days keeps its hours."""
    if text.endswith(" (CI not estimable)"):
        figure, interval = text.removesuffix(" (CI not estimable)"), "(no CI)"
    else:
        figure, sep, rest = text.rpartition(" (")
        if not sep:
            return text
        low_high = rest.removesuffix(")").removesuffix(" h")
        interval = "(" + re.sub(r"(\d+)\.\d+", lambda m: m[1], low_high) + ")"
    return f"{figure.replace(' (', chr(10) + '(')}\n{interval}"


def print_scorecard(scorecard: dict, out: Console | None = None) -> None:
    """The scorecard as a table: the full layout when the console is wide enough, else the
    compact one (same figures, CIs under their figure)."""
    from monitor.statistics.scorecard_output import (
        median_text,
        ordered_rows,
        rank_text,
        row_name,
        share_cells,
        table_title,
        versions_lines,
    )
    from monitor.statistics.scorecard_output import print_table as print_full_table

    out = out or console()
    if out.width >= FULL_SCORECARD_WIDTH:
        print_full_table(scorecard, out)
        return
    title = table_title(scorecard)
    table = Table(
        title=Text(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 0),
    )
    table.add_column("rank", justify="right", overflow="fold")
    table.add_column("name", overflow="fold", min_width=12)
    table.add_column("cc", overflow="fold")
    table.add_column("notices", justify="right", overflow="fold")
    table.add_column("open", justify="right", overflow="fold")
    table.add_column("median h", justify="right", overflow="fold")
    table.add_column("p90 h", justify="right", overflow="fold")
    for norm in scorecard["norms"]:
        table.add_column(escape(f"≤ {norm['label']}"), justify="right", overflow="fold")
    table.add_column("≤ 7 days", justify="right", overflow="fold")
    for row in [*ordered_rows(scorecard), scorecard["totals"]]:
        is_total = row is scorecard["totals"]
        rank = rank_text(row, is_total)
        cells = [
            "apart" if rank == "not ranked" else rank,
            Text(cell(row_name(row, is_total))),
            Text(cell(row["country"] or "-")),
            str(row["notices"]),
            str(row["open"]),
            _compact_median(median_text(row)),
            _hours(row["p90_hours"]),
        ]
        shares = share_cells(scorecard, row, is_total)
        cells.extend(share.replace(" (", "\n(", 1) for share in shares)
        table.add_row(*cells, end_section=True)
    print_table(out, table)
    out.print(
        "Kaplan-Meier; content still online censored at its last check or the as-of time. "
        "≤ t: share removed within t. Under each figure its 95% CI. "
        f"Rows under {scorecard['min_notices']} notices are low "
        "volume (counts, not ranked); unknown and CDN-fronted rows are not providers: shown "
        "apart, never ranked. Every figure: --format csv or json. "
        f"Snapshot: {scorecard.get('snapshot_id') or 'not stored'}.",
        markup=False,
    )
    for line in versions_lines(scorecard):
        out.print(line, markup=False)


def print_history(history: dict, out: Console | None = None) -> None:
    """One provider's quarters side by side, as wide as the console allows (CIs wrap)."""
    from monitor.statistics.scorecard_output import _share_ci

    out = out or console()
    quarters = [q for q in history["quarters"] if q["notices"]] or history["quarters"][-1:]
    table = Table(
        title=Text(f"{cell(history['provider'])}, as of {history['as_of']}"),
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("")
    for quarter in quarters:
        table.add_column(quarter["label"], justify="right", overflow="fold")
    lines = {
        "notices": [
            str(q["notices"]) + (" (low vol.)" if q["low_volume"] else "") for q in quarters
        ],
        "still online": [str(q["open"]) for q in quarters],
        "median h": [
            _hours(q["median_hours"]) if q["median_hours"] is not None else "not reached"
            for q in quarters
        ],
        "within 24 h": [_share_ci(q["within_24h"], q["within_24h_ci"]) for q in quarters],
        "trend": [
            "-"
            if q["trend"] is None
            else f"{q['trend']['direction']} (p={q['trend']['p_value']:.3f})"
            for q in quarters
        ],
    }
    for label, cells in lines.items():
        table.add_row(label, *cells)
    print_table(out, table)


def print_overdue(result: dict, out: Console | None = None) -> None:
    """Overdue notices under column headers, oldest first."""
    out = out or console()
    # (rich mis-measures tables with show_edge=False: their last column gets cut)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("source/ticket", overflow="fold", ratio=2)
    table.add_column("provider", overflow="fold", ratio=2)
    table.add_column("network", overflow="fold", ratio=2)
    table.add_column("cc")
    table.add_column("clock from", overflow="fold")
    for notice in result["notices"]:
        network = f"AS{notice['asn']} {notice['network'] or ''}".strip() if notice["asn"] else "-"
        table.add_row(
            duration_text(notice["age_hours"]),
            Text(cell(f"{notice['source']}/{notice['ticket_id']}")),
            Text(cell(notice["provider"])),
            Text(cell(network)),
            Text(cell(notice["country"] or "-")),
            "notice" if notice["notified"] else "report",
        )
    print_table(out, table)
