"""Commands of the drift stage: `monitor drift`, `monitor drift ack`, `monitor drift list`."""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

from monitor.cli.common import fail, print_json, state
from monitor.cli.output import say

drift_app = typer.Typer(
    help="Flag hosting that moves outside the EU and INHOPE, and providers that slow down.",
    no_args_is_help=False,
)


@drift_app.callback(invoke_without_command=True)
def drift(
    ctx: typer.Context,
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Compute as things stood at this time (ISO 8601 or a date; default now).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the flags as JSON."),
    config: Path | None = typer.Option(
        None, "--config", help="TOML file with the drift settings (default: $MONITOR_CONFIG)."
    ),
) -> None:
    """Compute and store the drift flags; prints them (acknowledged ones included)."""
    if ctx.invoked_subcommand is not None:
        return
    from monitor.core.timeutil import parse_user_time
    from monitor.drift import run_drift
    from monitor.drift.config import load_drift_config

    result = run_drift(
        state(ctx).engine(),
        as_of=parse_user_time(as_of) if as_of else None,
        config=load_drift_config(config),
    )
    if as_json:
        print_json(result)
        return
    say(f"drift as of {result['as_of']}: {len(result['flags'])} flag(s)")
    _print_flags(result["flags"])


@drift_app.command("ack")
def ack(
    ctx: typer.Context,
    flag_id: str = typer.Argument(..., help="The flag's id (or a unique prefix of 6+ characters)."),
    note: str = typer.Option(..., "--note", help="Why it is acknowledged (URLs are redacted)."),
    by: str | None = typer.Option(None, "--by", help="Who acknowledges (default: the login name)."),
    as_json: bool = typer.Option(False, "--json", help="Print the acknowledged flag as JSON."),
) -> None:
    """Acknowledge a flag with a note; it stays acknowledged on later runs."""
    from monitor.drift.store import acknowledge

    try:
        flag = acknowledge(state(ctx).engine(), flag_id, note=note, by=by or _login())
    except (LookupError, ValueError) as exc:
        fail(str(exc).strip("'\""))
    if as_json:
        print_json(flag)
        return
    say(f"acknowledged {flag['id']} ({flag['kind']}, {_safe(flag['subject'])})")


@drift_app.command("list")
def list_(
    ctx: typer.Context,
    include_all: bool = typer.Option(False, "--all", help="Include acknowledged flags."),
    as_json: bool = typer.Option(False, "--json", help="Print the stored flags as JSON."),
) -> None:
    """Stored flags, most recently raised first (open ones only unless --all)."""
    from monitor.drift.store import list_flags

    flags = list_flags(state(ctx).reader(), include_acknowledged=include_all)
    if as_json:
        print_json({"flags": flags})
        return
    say(f"{len(flags)} {'stored' if include_all else 'open'} flag(s)")
    _print_flags(flags)


def _print_flags(flags: list[dict]) -> None:
    for flag in flags:
        say(f"\n{flag['id']}  {flag['status']:<12}  {flag['kind']:<18}  {_safe(flag['subject'])}")
        if flag.get("since"):
            closed = f", closed {flag['closed_at'][:10]}" if flag.get("closed_at") else ""
            say(f"  since {flag['since'][:10]}{closed}")
        say(f"  {_safe(flag['detail'], limit=2000)}")
        acknowledgement = flag.get("acknowledgement")
        if acknowledgement:
            say(
                f"  acknowledged by {_safe(acknowledgement['by'])} at {acknowledgement['at']}: "
                f"{_safe(acknowledgement['note'])}"
            )


def _safe(text: object, limit: int = 200) -> str:
    from monitor.drift.flags import display

    return display(text, limit=limit)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def register(app: typer.Typer) -> None:
    """Add `monitor drift` and its subcommands to the CLI."""
    app.add_typer(drift_app, name="drift")
