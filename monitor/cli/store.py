"""Commands of the ticket store: init, ingest, tickets export, status, demo."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from monitor.cli.common import fail, print_json, state
from monitor.cli.output import say
from monitor.core.errors import StrictModeRejected

PROGRESS_MIN_LINES = 50_000


def init(ctx: typer.Context) -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from monitor.store.schema import upgrade

    app_state = state(ctx)
    heads = upgrade(app_state.engine(check_schema=False))
    # The early migrations branched from 0001 (one branch per stage); 0013 joins them, so
    # a current schema has one head. max() names the newest should a branch come back.
    say(f"schema ready at revision {max(heads)}")


def ingest(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(
        ...,
        help="CSV (`,` `;` or tab) or JSON Lines files, gzip or not; `-` reads standard input.",
    ),
    source: str = typer.Option(
        "default", help="Whose tickets these are; ticket_id is unique per source."
    ),
    fmt: str = typer.Option("auto", "--format", help="auto, csv or jsonl."),
    timezone: str | None = typer.Option(
        None, help="Read timestamps without offset in this IANA zone."
    ),
    hash_urls: bool = typer.Option(
        False, "--hash-urls", help="Hash a `url` column (SHA-256); the URL is never stored."
    ),
    strict: bool = typer.Option(False, help="Reject a whole file with any bad row; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Ingest hotline ticket metadata; bad rows go to quarantine with a reason."""
    from monitor.ingest import IngestOptions, IngestSummary, ingest_file
    from monitor.ingest.readers import display_name, progress_lines

    engine = state(ctx).engine()
    options = IngestOptions(
        source=source, format=fmt, timezone=timezone, hash_urls=hash_urls, strict=strict
    )
    total = IngestSummary()
    for path in paths:
        # Only a regular file on a terminal is counted first (a stream is read once).
        lines = progress_lines(path) if sys.stderr.isatty() else 0
        lines = lines if lines > PROGRESS_MIN_LINES else 0
        with _progress(display_name(path), lines) as advance:
            try:
                total.add(ingest_file(engine, path, options, progress=advance))
            except StrictModeRejected as exc:
                if as_json:
                    name = display_name(path)
                    print_json({"rejected": name, "reason": str(exc), "errors": exc.errors})
                    raise typer.Exit(1) from None
                fail(
                    str(exc)
                    + "".join(f"\n  line {e['line']}: {e['reason']}" for e in exc.errors[:20]),
                    code=1,
                )
    if as_json:
        print_json(total.to_json())
        return
    say(
        f"read {total.read}: inserted {total.inserted}, updated {total.updated}, "
        f"unchanged {total.unchanged}, quarantined {total.quarantined}"
        + (
            f" ({total.removed_before_notice} removed before notice)"
            if total.removed_before_notice
            else ""
        )
    )
    if total.ignored_columns:
        say(f"ignored columns: {', '.join(total.ignored_columns)}")
    for error in total.errors[:20]:
        say(f"  {error['file']} line {error['line']}: {error['reason']}")
    if total.quarantined > 20:
        say(f"  ... {total.quarantined - 20} more in quarantine")


@contextmanager
def _progress(label: str, lines: int):
    """A transient rich progress bar over `lines` rows; yields the update function, or None."""
    if not lines:
        yield None
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(f"ingest {label}", total=lines)
        yield lambda read: bar.update(task, completed=read)


tickets_app = typer.Typer(help="Ticket listings.", no_args_is_help=True)


@tickets_app.command("export")
def tickets_export(
    ctx: typer.Context,
    fmt: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: from the --out file name, else csv)."
    ),
    out: Path | None = typer.Option(
        None, help="Write here instead of stdout (.csv or .jsonl; missing folders are made)."
    ),
) -> None:
    """Export one row per ticket (the contract's columns; resolution columns once resolved)."""
    from monitor.core.output_files import atomic_text, format_for
    from monitor.core.safe_output import terminal_stream
    from monitor.store.export import write_export

    fmt = format_for(out, fmt, ("csv", "jsonl"), "csv")
    engine = state(ctx).reader()
    if out is None:
        write_export(engine, terminal_stream(sys.stdout), fmt)
        return
    with atomic_text(out) as handle:
        count = write_export(engine, handle, fmt)
    say(f"wrote {count} tickets to {out}", err=True)


def status(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Counts: tickets, open, unresolved, quarantined, last ingest."""
    from monitor.statistics.data_versions import status_with_versions, versions_line
    from schedules import job_status

    engine = state(ctx).reader()
    facts = status_with_versions(engine)
    facts["jobs"] = job_status(engine)
    if as_json:
        print_json(facts)
        return
    for key in ("tickets", "open", "unresolved", "quarantined", "failed_ingests"):
        say(f"{key.replace('_', ' ')}: {facts[key]}")
    last = facts["last_ingest"]
    say(
        "last ingest: none"
        if last is None
        else f"last ingest: #{last['id']} {last['origin']} ({last['source']})"
        f" at {last['finished_at']}"
    )
    say(versions_line(facts["data_versions"]))
    for warning in facts["data_versions"]["warnings"]:
        say(f"warning: {warning}")
    for job in facts["jobs"]:
        if job.get("started_at"):
            say(
                f"job {job['job']}: last run {job['started_at']} {job.get('outcome')}"
                + (f" ({job['error']})" if job.get("error") else "")
            )


def demo(
    ctx: typer.Context,
    out: Path = typer.Option(
        Path("monitor-demo"), help="Folder for the generated export, database and reports."
    ),
    tickets: int = typer.Option(30000, help="How many tickets to generate."),
    seed: int = typer.Option(2026, help="Random seed (the same seed gives the same data)."),
) -> None:
    """Run the whole pipeline on a generated, realistic hotline export."""
    from monitor.demo import run_demo

    for line in run_demo(out, tickets=tickets, seed=seed, db_url=state(ctx).db_url):
        say(line)
    from monitor.web.launch import workbench_command

    say(f"workbench: {workbench_command(state(ctx).db_url, out)}")


def register(app: typer.Typer) -> None:
    """Add the store's commands to the CLI."""
    app.command()(init)
    app.command()(ingest)
    app.add_typer(tickets_app, name="tickets")
    app.command()(status)
    app.command()(demo)
