"""Commands of the statistics stage: scorecard, overdue, provider show, snapshots."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from monitor.cli.common import FROM_OPTION, PERIOD_OPTION, TO_OPTION, fail, print_json, state

FORMATS = ("table", "json", "csv", "html", "pdf")
CONFIG_HELP = "TOML file with the [statistics] settings (default: $MONITOR_CONFIG)."


def _config(path: Path | None):
    from monitor.norms import load_statistics_config

    return load_statistics_config(path)


def _time(text: str | None):
    from monitor.timeutil import parse_user_time

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
    fmt: str = typer.Option("table", "--format", help="table, json, csv, html or pdf."),
    out: Path | None = typer.Option(None, help="Write to this file (required for pdf)."),
    lang: str = typer.Option("en", help="Language of html/pdf: en or nl."),
    store: bool = typer.Option(
        False, "--store", help="Store the figures as a snapshot and print its id."
    ),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """Time to removal per provider, network or country for a period (Kaplan-Meier, 95 % CIs)."""
    from monitor.periods import period_from_options
    from monitor.scorecard import GROUPINGS, compute_scorecard
    from monitor.snapshots import load_snapshot, store_snapshot

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    if by not in GROUPINGS:
        fail(f"unknown grouping {by!r}; use {', '.join(GROUPINGS)}")
    if fmt == "pdf" and out is None:
        fail("--format pdf needs --out PATH")
    if lang not in ("en", "nl"):
        fail(f"unknown language {lang!r}; use en or nl")
    engine = state(ctx).engine()
    chosen = period_from_options(period, start, end)
    figures = compute_scorecard(
        engine,
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
        typer.echo(f"snapshot {snapshot_id}", err=True)
        return
    if store:
        figures["snapshot_id"] = store_snapshot(engine, figures)
        typer.echo(f"snapshot {figures['snapshot_id']}", err=True)
    _emit(figures, fmt, out)


def _render(engine, snapshot: dict, fmt: str, out: Path | None, lang: str) -> None:
    # The reports stage renders html and pdf (with the period's drift flags and sources).
    from reports import publish_scorecard

    if out is not None:
        publish_scorecard(engine, snapshot, fmt, out, lang=lang)
        typer.echo(f"wrote {out}", err=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scorecard.html"
        publish_scorecard(engine, snapshot, fmt, path, lang=lang)
        sys.stdout.write(path.read_text(encoding="utf-8"))


def _emit(figures: dict, fmt: str, out: Path | None) -> None:
    import json

    from monitor.scorecard_output import print_table, write_csv

    if out is not None:
        with out.open("w", encoding="utf-8", newline="") as handle:
            if fmt == "json":
                handle.write(json.dumps(figures, ensure_ascii=False, indent=2) + "\n")
            elif fmt == "csv":
                write_csv(figures, handle)
            else:
                from rich.console import Console

                print_table(figures, Console(file=handle, width=200, force_terminal=False))
        typer.echo(f"wrote {out}", err=True)
    elif fmt == "json":
        print_json(figures)
    elif fmt == "csv":
        write_csv(figures, sys.stdout)
    else:
        print_table(figures)


def overdue(
    ctx: typer.Context,
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        help="Age of an open notice to list, e.g. 24h, 3d (default: [statistics] overdue_after).",
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="As at this time (default: now)."),
    limit: int = typer.Option(
        500, help="Show at most this many (0: all); the count is always complete."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """Open notices older than the norm, oldest first: the list for reminders and escalation."""
    from monitor.overdue import overdue_notices
    from monitor.timeutil import parse_duration

    hours = (
        parse_duration(older_than).total_seconds() / 3600
        if older_than
        else _config(config).overdue_after_hours
    )
    if limit < 0:
        fail("--limit must be 0 (all) or more")
    result = overdue_notices(
        state(ctx).engine(), older_than_hours=hours, as_of=_time(as_of), limit=limit or None
    )
    if as_json:
        print_json(result)
        return
    typer.echo(
        f"{result['count']} open notices older than {hours:g} h as of {result['as_of']}"
        + (f" (oldest {result['shown']} shown)" if result["shown"] < result["count"] else "")
    )
    from monitor.durations import duration_text

    for notice in result["notices"]:
        network = f"AS{notice['asn']} {notice['network'] or ''}".strip() if notice["asn"] else "-"
        typer.echo(
            f"{duration_text(notice['age_hours']):>20}  {notice['source']}/{notice['ticket_id']}  "
            f"{notice['provider']}  {network}  {notice['country'] or '-'}"
            + ("" if notice["notified"] else "  (no notice time: reported_at)")
        )


provider_app = typer.Typer(help="One provider's figures over time.", no_args_is_help=True)


@provider_app.command("show")
def provider_show(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Provider name as in the scorecard (case does not matter)."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="As at this time (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
    config: Path | None = typer.Option(None, "--config", help=CONFIG_HELP),
) -> None:
    """One provider's quarters side by side: notices, median, within 24 h, trend."""
    from monitor.provider_history import provider_history

    history = provider_history(
        state(ctx).engine(), name, as_of=_time(as_of), config=_config(config)
    )
    if as_json:
        print_json(history)
        return
    _print_history(history)


def _print_history(history: dict) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from monitor.scorecard_output import _hours, _share_ci

    quarters = [q for q in history["quarters"] if q["notices"]] or history["quarters"][-1:]
    table = Table(
        title=Text(f"{history['provider']}, as of {history['as_of']}"), title_justify="left"
    )
    table.add_column("")
    for quarter in quarters:
        table.add_column(quarter["label"], justify="right")
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
    Console(width=max(120, Console().width), highlight=False).print(table)


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
    from monitor.snapshots import list_snapshots

    rows = list_snapshots(state(ctx).engine(), limit=limit)
    if as_json:
        print_json(rows)
        return
    for row in rows:
        known = f" known at {row['known_at']}" if row["known_at"] else ""
        typer.echo(f"{row['id']}  {row['period']} by {row['by']}, as of {row['as_of']}{known}")


@snapshots_app.command("show")
def snapshots_show(
    ctx: typer.Context,
    snapshot_id: str = typer.Argument(..., help="Snapshot id (sc-...)."),
    fmt: str = typer.Option("json", "--format", help="json, csv or table."),
    out: Path | None = typer.Option(None, help="Write to this file."),
) -> None:
    """Print a stored scorecard exactly as it was stored."""
    from monitor.snapshots import load_snapshot

    if fmt not in ("json", "csv", "table"):
        fail(f"unknown format {fmt!r}; use json, csv or table")
    _emit(load_snapshot(state(ctx).engine(), snapshot_id), fmt, out)


def register(app: typer.Typer) -> None:
    """Add the statistics commands to the CLI."""
    app.command()(scorecard)
    app.command()(overdue)
    app.add_typer(provider_app, name="provider")
    app.add_typer(snapshots_app, name="snapshots")
