"""Commands of the statistics stage: scorecard, overdue, snapshots.

(`provider show` is `providers show`, in resolution.py.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from monitor.cli.common import FROM_OPTION, PERIOD_OPTION, TO_OPTION, fail, print_json, state
from monitor.cli.output import say

FORMATS = ("table", "json", "csv", "html", "pdf")
CONFIG_HELP = "TOML file with the \\[statistics] settings (default: $MONITOR_CONFIG)."


def _config(path: Path | None):
    from monitor.statistics.norms import load_statistics_config

    return load_statistics_config(path)


def _time(text: str | None):
    from monitor.core.timeutil import parse_user_time

    return parse_user_time(text) if text else None


def scorecard(
    ctx: typer.Context,
    period: str | None = PERIOD_OPTION,
    start: str | None = FROM_OPTION,
    end: str | None = TO_OPTION,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Figures as they stood at this time (default: now)."
    ),
    known_at: str | None = typer.Option(
        None,
        "--known-at",
        help="Also ignore what the monitor learnt after this time (re-derive a past figure).",
    ),
    by: str = typer.Option("provider", help="provider, network or country."),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="table, json, csv, html or pdf (default: from the --out file name, else table).",
    ),
    out: Path | None = typer.Option(
        None, help="Write to this file (.pdf, .html, .csv, .json name the format)."
    ),
    lang: str = typer.Option("en", help="Language of html/pdf: en or nl."),
    store: bool = typer.Option(
        False, "--store", help="Store the figures as a snapshot and print its id."
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """Time to removal per provider, network or country for a period (Kaplan-Meier, 95 % CIs)."""
    from monitor.core.output_files import check_target, format_for
    from monitor.statistics.periods import period_from_options
    from monitor.statistics.scorecard import GROUPINGS, compute_scorecard
    from monitor.statistics.snapshots import load_snapshot, store_snapshot

    fmt = format_for(out, fmt, FORMATS, "table")
    if by not in GROUPINGS:
        fail(f"unknown grouping {by!r}; use {', '.join(GROUPINGS)}")
    if fmt == "pdf" and out is None:
        fail("--format pdf needs --out PATH")
    if lang not in ("en", "nl"):
        fail(f"unknown language {lang!r}; use en or nl")
    if out is not None:
        check_target(out)  # refused before any work is done
    app_state = state(ctx)
    engine = app_state.engine()
    chosen = period_from_options(period, start, end)
    figures = compute_scorecard(
        app_state.reader(),
        period=chosen,
        as_of=_time(as_of),
        by=by,
        known_at=_time(known_at),
        config=_config(config),
    )
    if fmt in ("html", "pdf"):
        # Published documents always cite a stored, immutable snapshot.
        snapshot_id = store_snapshot(engine, figures)
        _render(engine, load_snapshot(engine, snapshot_id), fmt, out, lang)
        say(f"snapshot {snapshot_id}", err=True)
        return
    if store:
        figures["snapshot_id"] = store_snapshot(engine, figures)
        say(f"snapshot {figures['snapshot_id']}", err=True)
    _emit(figures, fmt, out)


def _render(engine, snapshot: dict, fmt: str, out: Path | None, lang: str) -> None:
    # The reports stage renders html and pdf (with the period's drift flags and sources).
    from reports import publish_scorecard

    if out is not None:
        publish_scorecard(engine, snapshot, fmt, out, lang=lang)
        say(f"wrote {out}", err=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scorecard.html"
        publish_scorecard(engine, snapshot, fmt, path, lang=lang)
        sys.stdout.write(path.read_text(encoding="utf-8"))


def _emit(figures: dict, fmt: str, out: Path | None) -> None:
    from monitor.cli.tables import print_scorecard
    from monitor.core.output_files import atomic_text
    from monitor.core.safe_output import json_text, terminal_stream
    from monitor.statistics.scorecard_output import print_table, write_csv

    if out is not None:
        with atomic_text(out) as handle:
            if fmt == "json":
                handle.write(json_text(figures, indent=2) + "\n")
            elif fmt == "csv":
                write_csv(figures, handle)
            else:
                from rich.console import Console

                print_table(figures, Console(file=handle, width=200, force_terminal=False))
        say(f"wrote {out}", err=True)
    elif fmt == "json":
        print_json(figures)
    elif fmt == "csv":
        write_csv(figures, terminal_stream(sys.stdout))
    else:
        print_scorecard(figures)


def overdue(
    ctx: typer.Context,
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        help="Age of an open notice to list, e.g. 24h, 3d (default: \\[statistics] overdue_after).",
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="As at this time (default: now)."),
    limit: int = typer.Option(
        500, help="Show at most this many (0: all); the count is always complete."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """Open notices older than the norm, oldest first: the list for reminders and escalation."""
    from monitor.core.timeutil import parse_duration
    from monitor.statistics.overdue import overdue_notices

    hours = (
        parse_duration(older_than).total_seconds() / 3600
        if older_than
        else _config(config).overdue_after_hours
    )
    if limit < 0:
        fail("--limit must be 0 (all) or more")
    result = overdue_notices(
        state(ctx).reader(), older_than_hours=hours, as_of=_time(as_of), limit=limit or None
    )
    if as_json:
        print_json(result)
        return
    from monitor.cli.tables import print_overdue

    say(
        f"{result['count']} open notices older than {hours:g} h as of {result['as_of']}"
        + (f" (oldest {result['shown']} shown)" if result["shown"] < result["count"] else "")
    )
    if result["notices"]:
        print_overdue(result)
        say("clock from: the notice time, or the report time when no notice time was given")


snapshots_app = typer.Typer(
    help="Stored scorecards that reports and briefings cite.", no_args_is_help=True
)


@snapshots_app.command("list")
def snapshots_list(
    ctx: typer.Context,
    limit: int = typer.Option(50, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Stored scorecard snapshots, newest first."""
    from monitor.statistics.snapshots import list_snapshots

    rows = list_snapshots(state(ctx).reader(), limit=limit)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        known = f" known at {row['known_at']}" if row["known_at"] else ""
        say(f"{row['id']}  {row['period']} by {row['by']}, as of {row['as_of']}{known}")


@snapshots_app.command("show")
def snapshots_show(
    ctx: typer.Context,
    snapshot_id: str = typer.Argument(..., help="Snapshot id (sc-...)."),
    fmt: str | None = typer.Option(
        None, "--format", help="json, csv or table (default: from the --out name, else json)."
    ),
    out: Path | None = typer.Option(None, help="Write to this file."),
) -> None:
    """Print a stored scorecard exactly as it was stored."""
    from monitor.core.output_files import format_for
    from monitor.statistics.snapshots import load_snapshot

    fmt = format_for(out, fmt, ("json", "csv", "table"), "json")
    _emit(load_snapshot(state(ctx).reader(), snapshot_id), fmt, out)


def register(app: typer.Typer) -> None:
    """Add the statistics commands to the CLI."""
    app.command()(scorecard)
    app.command()(overdue)
    app.add_typer(snapshots_app, name="snapshots")
