"""`monitor quarantine list|export`: see the rows that broke a rule, correct and re-ingest them."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from monitor.cli.common import fail, print_json, state

quarantine_app = typer.Typer(
    help="Quarantined rows: list them, export them to correct and re-ingest.",
    no_args_is_help=True,
)
RUN_OPTION = typer.Option(None, "--run", help="Only rows of this ingest run (its id).")
REASON_OPTION = typer.Option(
    None, "--reason", help="Only rows whose reason contains this text (case ignored)."
)


def _printable(text: object) -> str:
    """Terminal-safe: control characters and bidi overrides dropped."""
    return "".join(ch for ch in str(text) if ch.isprintable())


@quarantine_app.command("list")
def list_rows(
    ctx: typer.Context,
    run: int | None = RUN_OPTION,
    reason: str | None = REASON_OPTION,
    open_only: bool = typer.Option(False, "--open", help="Only rows not yet resolved."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON (with the raw rows)."),
) -> None:
    """One line per quarantined row: id, run, file and line, reason, and whether it is resolved."""
    from monitor.ingest.quarantine import quarantined

    entries = list(
        quarantined(state(ctx).engine(), run_id=run, reason=reason, include_resolved=not open_only)
    )
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo("no quarantined rows")
        return
    typer.echo("id     run   file:line  reason  [resolved by run]")
    for entry in entries:
        resolved = f"  [resolved by run {entry['resolved_by_run']}]" if entry["resolved_at"] else ""
        typer.echo(
            _printable(
                f"{entry['id']:<6} {entry['run_id'] or '-':<5} {entry['origin']}:{entry['line']}  "
                f"{entry['reason']}{resolved}"
            )
        )
    open_count = sum(1 for entry in entries if not entry["resolved_at"])
    typer.echo(f"{len(entries)} rows, {open_count} open")


@quarantine_app.command("export")
def export_rows(
    ctx: typer.Context,
    run: int | None = RUN_OPTION,
    reason: str | None = REASON_OPTION,
    include_resolved: bool = typer.Option(
        False, "--include-resolved", help="Also rows a later ingest already fixed."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON Lines instead of CSV."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """Export open quarantined rows (CSV, or JSON Lines) to correct and ingest again.

    Re-ingesting the corrected file marks the rows it fixed as resolved; they are kept.
    """
    from monitor.ingest.quarantine import quarantined, write_csv, write_jsonl

    entries = list(
        quarantined(
            state(ctx).engine(), run_id=run, reason=reason, include_resolved=include_resolved
        )
    )
    if out is not None and not out.parent.is_dir():
        fail(f"the folder {out.parent} does not exist; create it first")
    handle = sys.stdout if out is None else out.open("w", encoding="utf-8", newline="")
    try:
        if as_json:
            count, left_out = write_jsonl(entries, handle), 0
        else:
            count, left_out = write_csv(entries, handle)
    finally:
        if out is not None:
            handle.close()
    typer.echo(f"exported {count} quarantined rows" + (f" to {out}" if out else ""), err=True)
    if left_out:
        typer.echo(
            f"{left_out} unreadable lines are not columns and were left out of the CSV; "
            "--json exports them too",
            err=True,
        )


def register(app: typer.Typer) -> None:
    """Add `monitor quarantine` to the CLI."""
    app.add_typer(quarantine_app, name="quarantine")
