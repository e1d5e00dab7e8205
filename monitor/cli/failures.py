"""Failures as one line each: `error: what went wrong: what to do`.

Usage errors (an unknown or missing option, a file that does not exist, a global option
given after the command) are click's exceptions, reworded into one line with the help
command to read, instead of typer's drawn box. A database error is said in one line
without the SQL and its parameters (which may hold outside data); `MONITOR_DEBUG=1` shows
the whole exception. Every message passes `terminal_text` and the removal of the database
password (also the fragments a driver quotes when a password holds an unescaped `@`).
"""

from __future__ import annotations

import sqlalchemy as sa
from typer import _click

from monitor.core.redaction import redact_text
from monitor.core.safe_output import terminal_text
from monitor.store import db
from monitor.store.db import is_locked_error, password_fragments, redact_url

GLOBAL_OPTIONS = ("--db", "--verbose", "-v")
USAGE_EXIT = 2
DATABASE_EXIT = 1


def _command_path(ctx: _click.Context | None, root: _click.Command | None, args) -> str:
    if ctx is not None:
        return " ".join(["monitor", *ctx.command_path.split()[1:]])
    return " ".join(["monitor", *_commands_in(root, list(args or ()))])


def _commands_in(command: _click.Command | None, args: list[str]) -> list[str]:
    """The (sub)command names in a command line, for errors click raises without a context
    (an option missing its value): `--db x scorecard --period` -> ['scorecard']."""
    names: list[str] = []
    while isinstance(getattr(command, "commands", None), dict) and args:
        arg = args.pop(0)
        if arg.startswith("-"):
            option = next((p for p in command.params if arg.split("=")[0] in p.opts), None)
            if option is not None and not getattr(option, "is_flag", False) and "=" not in arg:
                args = args[1:]
            continue
        sub = command.commands.get(arg)
        if sub is None:
            break
        names.append(arg)
        command = sub
    return names


def usage_line(exc: _click.ClickException, root: _click.Command | None = None, args=None) -> str:
    """The one-line message of a usage error, with what to do."""
    ctx = getattr(exc, "ctx", None)
    where = _command_path(ctx, root, args)
    if isinstance(exc, _click.exceptions.NoSuchOption) and exc.option_name in GLOBAL_OPTIONS:
        if ctx is not None and ctx.parent is not None:
            command = where.removeprefix("monitor ")
            return (
                f"{exc.option_name} is a global option: give it before the command "
                f"(monitor {exc.option_name} ... {command})"
            )
    message = " ".join(exc.format_message().split())
    if isinstance(exc, _click.exceptions.BadParameter) and "does not exist" in message:
        # "Invalid value for 'paths': File 'x.csv' does not exist." -> the file, plainly.
        message = message.split(": ", 1)[-1]
    message = message.rstrip(".")
    message = message[:1].lower() + message[1:]
    return f"{message}: see `{where} --help`"


def database_line(exc: sa.exc.DBAPIError, url: str | None) -> str:
    """One line for a database error: what the driver said (first line, no SQL, no
    parameters, no password), and for a writer that gave up on SQLite's lock, why."""
    if is_locked_error(exc):
        return (
            f"the database is busy: another monitor command held its write lock for "
            f"{db.BUSY_TIMEOUT_S} s and this one gave up; try again when it has finished"
        )
    original = getattr(exc, "orig", None) or exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    where = f" ({redact_url(url)})" if url else ""
    return f"database error{where}: {clean_message(first, url)}"


def clean_message(text: str, url: str | None = None) -> str:
    """A message made safe for the terminal: database password fragments, URLs and
    credentials redacted, control characters removed."""
    fragments = password_fragments(url) if url else []
    for fragment in fragments:
        text = text.replace(fragment, "[redacted]")
    return terminal_text(redact_text(text))
