"""The `monitor` command line: thin commands, each calling one library function.

Each area registers its commands from its own module (`register(app)`), so the
CLI stays a table of contents rather than a place where logic lives.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer
from typer.core import TyperGroup

from monitor.cli.common import AppState
from monitor.errors import MonitorError
from monitor.redaction import error_text

DEBUG_VAR = "MONITOR_DEBUG"


class _MonitorGroup(TyperGroup):
    """Turns the monitor's own errors into one `error: ...` line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="monitor",
    cls=_MonitorGroup,
    help="Hosting-provider abuse-report responsiveness monitor: ingest hotline ticket metadata, "
    "resolve hosting, measure time-to-removal, flag drift, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One module per area; each defines register(app).
COMMAND_MODULES = (
    "monitor.cli.store",
    "monitor.cli.resolution",
    "monitor.cli.drift",
    "monitor.cli.schedule",
    "monitor.cli.statistics",
    "monitor.cli.reports",
    "monitor.cli.provider_size",
    "monitor.cli.statement",
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (default: $MONITOR_DATABASE_URL, else sqlite:///monitor.db).",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = AppState(db_url=db)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Console entry point: known errors print one line and exit 2; unexpected ones exit 1.

    An unexpected error's message may quote outside text (a feed's answer, a database
    URL), so it is printed redacted and without the traceback unless MONITOR_DEBUG is set.
    """
    try:
        app()
    except MonitorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get(DEBUG_VAR):
            raise
        print(
            f"error: unexpected {error_text(exc)} (set {DEBUG_VAR}=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
