"""The `monitor` command line: thin commands, each calling one library function.

Each area registers its commands from its own module (`register(app)`), so the
CLI stays a table of contents rather than a place where logic lives.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import sqlalchemy as sa
import typer
from typer import _click
from typer.core import TyperGroup

from monitor.cli.common import AppState
from monitor.cli.failures import (
    DATABASE_EXIT,
    USAGE_EXIT,
    clean_message,
    database_line,
    usage_line,
)
from monitor.core.errors import MonitorError
from monitor.core.log_redaction import install as install_log_redaction
from monitor.core.redaction import error_text
from monitor.core.safe_output import terminal_text

DEBUG_VAR = "MONITOR_DEBUG"
PACKAGE = "takedown-monitor"


class _MonitorGroup(TyperGroup):
    """Every failure a user can meet as one `error: ...` line (failures.py), never a box.

    The monitor's own errors and usage errors exit 2; a database error exits 1 and says
    what the driver said in one line (MONITOR_DEBUG=1 lets the exception through).
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MonitorError as exc:
            typer.echo(f"error: {terminal_text(exc)}", err=True)
            raise typer.Exit(USAGE_EXIT) from None
        except sa.exc.DBAPIError as exc:
            if os.environ.get(DEBUG_VAR):
                raise
            obj = ctx.find_root().obj
            url = getattr(obj, "db_url", None) or os.environ.get("MONITOR_DATABASE_URL")
            typer.echo(
                f"error: {database_line(exc, url)} (set {DEBUG_VAR}=1 for the details)", err=True
            )
            raise typer.Exit(DATABASE_EXIT) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's main, with usage errors printed as one `error:` line (exit 2)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name or "monitor", complete_var, False, **extra)
        except _click.exceptions.NoArgsIsHelpError:
            sys.exit(USAGE_EXIT)  # the help is printed when this exception is made
        except _click.ClickException as exc:
            given = sys.argv[1:] if args is None else args
            typer.echo(f"error: {clean_message(usage_line(exc, self, given))}", err=True)
            sys.exit(USAGE_EXIT)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


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
    "monitor.cli.quarantine",
    "monitor.cli.web",
    "monitor.cli.provider_size",
    "monitor.cli.statement",
)


def version_text() -> str:
    """`monitor <version>` of the installed package (or `unknown` when run from a checkout
    that was never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"monitor {version(PACKAGE)}"
    except PackageNotFoundError:
        return "monitor (version unknown: the takedown-monitor package is not installed)"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(0)


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database file path or URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/DB); "
        "default: $MONITOR_DATABASE_URL, else monitor.db here. Give it before the command.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    _version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_show_version,
        help="Print the monitor's version and exit.",
    ),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()  # every library's records, redacted before any handler writes them
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
