"""`monitor statement`: a statement to one hosting provider, or to each of them (`--all`)."""

from __future__ import annotations

from pathlib import Path

import typer

from monitor.cli.common import FROM_OPTION, PERIOD_OPTION, TO_OPTION, fail, state

FORMATS = ("html", "pdf")
LANGUAGES = ("en", "nl")


def statement(
    ctx: typer.Context,
    provider: str | None = typer.Argument(
        None, help="Canonical provider name, as the scorecard shows it (not with --all)."
    ),
    period: str | None = PERIOD_OPTION,
    start: str | None = FROM_OPTION,
    end: str | None = TO_OPTION,
    as_of: str | None = typer.Option(
        None, "--as-of", help="Figures as they stood at this time (default: now)."
    ),
    every: bool = typer.Option(
        False, "--all", help="One statement per provider above the minimum, into the folder --out."
    ),
    fmt: str = typer.Option("pdf", "--format", help="html or pdf."),
    lang: str = typer.Option("en", "--lang", help="Language: en or nl."),
    out: Path = typer.Option(..., "--out", help="File to write (with --all: a folder)."),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="TOML file with the [statistics] settings (default: $MONITOR_CONFIG).",
    ),
) -> None:
    """A one- to two-page statement to send to a hosting provider (no URLs, ever)."""
    from monitor.core.timeutil import parse_user_time
    from monitor.statistics.norms import load_statistics_config
    from monitor.statistics.periods import period_from_options
    from reports.statement_report import publish_statements

    if fmt not in FORMATS:
        fail(f"unknown format {fmt!r}; use html or pdf")
    if lang not in LANGUAGES:
        fail(f"unknown language {lang!r}; use en or nl")
    if every == (provider is not None):
        fail("name one PROVIDER or give --all")
    paths, snapshot_id = publish_statements(
        state(ctx).engine(),
        period=period_from_options(period, start, end),
        out=out,
        providers=None if every else [provider],
        fmt=fmt,
        lang=lang,
        as_of=parse_user_time(as_of) if as_of else None,
        config=load_statistics_config(config),
    )
    typer.echo(f"snapshot {snapshot_id}", err=True)
    for path in paths:
        typer.echo(f"wrote {path}", err=True)
    if every and not paths:
        typer.echo("no provider above the minimum number of notices: nothing written", err=True)


def register(app: typer.Typer) -> None:
    """Add `monitor statement` to the CLI."""
    app.command()(statement)
