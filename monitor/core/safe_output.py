"""Outside text made safe for where it is shown: a terminal, a spreadsheet cell, JSON.

Provider names, file names, ticket ids and error texts come from outside. On a terminal an
escape sequence (`ESC ] 0;title BEL`, `ESC [2J`, the one-character CSI U+009B) can retitle
the window, clear the screen or forge output, and a bidi override (U+202E) can reorder what
a line says; in a spreadsheet a cell starting with `=`, `+`, `-`, `@`, tab or carriage return
runs as a formula (`=HYPERLINK(...)`, `=cmd|' /C calc'!A0`). One function per destination,
used by every writer of that destination.
"""

from __future__ import annotations

import json
import re
import sys
from typing import TextIO

# C0 and C1 controls (tab and newline included: one value is one line), DEL, and the
# Unicode format characters that steer text direction or hide text.
_C1_AND_FORMAT = (
    "\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
)
_UNSAFE_CHARS = "\x00-\x1f" + _C1_AND_FORMAT
_UNSAFE = re.compile(f"[{_UNSAFE_CHARS}]")
# What JSON (which escapes C0 itself) must escape for a terminal; U+2028/9 end a line.
_NON_ASCII_UNSAFE = re.compile(f"[{_C1_AND_FORMAT}\u2028\u2029]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def terminal_text(value: object) -> str:
    """One value for a terminal: control characters and bidi/format characters removed.

    Tabs and line breaks become spaces (a value never starts a line of its own); other
    controls, escape sequences' ESC/CSI characters and direction overrides are dropped.
    """
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return _UNSAFE.sub("", text)


def terminal_lines(text: str) -> str:
    """Text of several lines for a terminal: each line cleaned as `terminal_text`, the
    line breaks kept."""
    if text.isascii() and all(line.isprintable() for line in text.split("\n")):
        return text
    return "\n".join(terminal_text(line) for line in text.split("\n"))


def csv_cell(value: object) -> str:
    """A value as a CSV cell a spreadsheet shows as text.

    None is empty, booleans `true`/`false`, numbers as Python writes them (`repr` for a
    float, exact); a text starting with a formula character gets a leading `'`, which
    spreadsheets show as text and never evaluate (OWASP's CSV-injection advice).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def json_text(value: object, **options) -> str:
    """JSON as `json.dumps(ensure_ascii=False)` writes it, but with C1 controls, bidi and
    other invisible format characters escaped (`\\u202e`): the data are all there, a
    terminal shows them as text. (`json` escapes C0 controls itself.)"""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _NON_ASCII_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class TerminalStream:
    """A text stream that cleans what is written to it when it is a terminal.

    For output that is data on a pipe or in a file (CSV, JSON Lines) but may also be
    shown on a terminal: on a terminal each line is cleaned as `terminal_lines`.
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(terminal_lines(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def terminal_stream(stream: TextIO | None = None) -> TextIO:
    """`stream` (default stdout) as is for a pipe or file, wrapped in TerminalStream for a
    terminal."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return TerminalStream(stream)  # type: ignore[return-value]
    return stream
