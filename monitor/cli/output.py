"""What the commands print: lines cleaned for the terminal, and tables that fit it.

Every line a command prints goes through `say` (outside text in it, such as a provider
or file name, may carry escape sequences; `monitor.core.safe_output.terminal_lines` removes
them). Tables are rich tables on a console as wide as the terminal (or $COLUMNS); on a
pipe they get room enough never to wrap. JSON and CSV always carry every figure.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from monitor.core.safe_output import terminal_lines, terminal_text

PIPE_WIDTH = 250


def say(text: object = "", *, err: bool = False) -> None:
    """Print one or more lines, each cleaned of control and bidi-override characters."""
    typer.echo(terminal_lines(str(text)), err=err)


def cell(value: object) -> str:
    """A table cell from outside text: cleaned, never interpreted as markup by the caller
    (wrap it in rich.text.Text)."""
    return terminal_text(value)


def console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal; $COLUMNS wins; a pipe or file gets PIPE_WIDTH."""
    stream = sys.stderr if stderr else sys.stdout
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 20:
        width = int(columns)
    elif stream.isatty():
        width = Console(file=stream).width
    else:
        width = PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def print_table(out: Console, table) -> None:
    """Print a rich table without the blank lines its open box draws above and below it,
    and without trailing spaces."""
    with out.capture() as captured:
        out.print(table)
    lines = [line.rstrip() for line in captured.get().split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    out.file.write("\n".join(lines) + "\n")
