"""Helpers shared by the command modules: state, output, errors."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import typer
from sqlalchemy.engine import Engine

from monitor.core.safe_output import json_text, terminal_lines
from monitor.store.db import database_url, make_engine, reader

# The period options every report command takes, declared once.
PERIOD_OPTION = typer.Option(
    None, "--period", help="Quarter (2026Q3), month (2026-07) or year (2026)."
)
FROM_OPTION = typer.Option(None, "--from", help="Start date/time (inclusive), with --to.")
TO_OPTION = typer.Option(
    None, "--to", help="End date/time, exclusive (not itself included), with --from."
)


@dataclass
class AppState:
    """What the global options decided, handed to every command."""

    db_url: str | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return database_url(self.db_url)

    def engine(self, *, check_schema: bool = True) -> Engine:
        """The engine; refuses to run on a database that `monitor init` has not prepared,
        or that a newer monitor has migrated."""
        from monitor.store.schema import pending, refuse_newer

        if self._engine is None:
            self._engine = make_engine(self.url)
            if check_schema:
                refuse_newer(self._engine)
                if pending(self._engine):
                    fail("the database schema is missing or outdated: run `monitor init` first")
        return self._engine

    def reader(self) -> Engine:
        """The engine for commands that only read: on SQLite it never waits for a writer."""
        return reader(self.engine())


def state(ctx: typer.Context) -> AppState:
    """The AppState of the running command."""
    obj = ctx.find_root().obj
    if obj is None:
        obj = ctx.find_root().obj = AppState()
    return obj


def fail(message: str, code: int = 2) -> None:
    """Print `error: ...` to stderr and exit with `code`."""
    typer.echo(terminal_lines(f"error: {message}"), err=True)
    raise typer.Exit(code)


def print_json(value: object) -> None:
    """JSON to stdout, UTF-8, keys in the given order; characters that would steer a
    terminal are escaped (`\u202e`), so the data stay complete."""
    sys.stdout.write(json_text(value, indent=2, default=str) + "\n")
