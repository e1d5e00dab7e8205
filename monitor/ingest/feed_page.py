"""Reading one feed page's JSON within explicit bounds (docs/feed-api.md, "Limits").

A page is outside bytes: it may be nested a hundred thousand levels deep, hold a number of
ten thousand digits, a lone surrogate (`"\\ud800"`), duplicate keys, or not be UTF-8. The
envelope (`tickets`, `next`, `since`) must be sound or the whole page is malformed; a
problem inside one ticket item only marks that item, so one bad value never sinks the page.
"""

from __future__ import annotations

import json
import re

import numpy as np

from monitor.core.errors import FeedError

MAX_JSON_DEPTH = 64
MAX_CONTAINERS = 200_000
"""Objects and lists per page: a page of 64 MiB of `[[[]]]` would otherwise become some
thirty million Python lists (gigabytes) in json.loads."""
MAX_VALUES = 2_000_000
"""Values per page (about one per comma): bounds the memory json.loads may take."""
MAX_STRINGS = 4_000_000
"""Strings per page, keys included (counted as quote marks, before anything else)."""
MAX_NUMBER_CHARS = 64
MAX_NEXT_CHARS = 16_384
MAX_SINCE_CHARS = 4_096

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENING = np.frombuffer(b"[{", dtype=np.uint8)
_CHUNK = 1 << 20


class MalformedPage(FeedError):
    """A 200 answer whose body is not a page; `text` keeps the body for quarantine."""

    def __init__(self, message: str, text: str):
        super().__init__(message)
        self.text = text


class _Flagged:
    """A value the item must not be ingested with; `why` says which rule it broke."""

    def __init__(self, why: str):
        self.why = why


class _Object(dict):
    """A JSON object that had duplicate keys (exactly, or after trimming and case folding)."""

    duplicate = False


def _object(pairs: list[tuple[str, object]]) -> dict:
    result = _Object(pairs)
    if len(result) != len(pairs) or len({key.strip().casefold() for key in result}) != len(result):
        result.duplicate = True
    return result


def _number(text: str) -> object:
    if len(text) > MAX_NUMBER_CHARS:
        return _Flagged(f"a number longer than {MAX_NUMBER_CHARS} characters")
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _constant(name: str) -> object:
    return _Flagged(f"a {name} (not a JSON number)")


def structure_problem(text: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why the page's JSON would cost too much to parse (strings, containers, values, nesting),
    else None.

    Linear and at C speed on a 64 MiB page: strings are cut out, the rest counted, then the
    running depth is a cumulative sum over the brackets, a million at a time. Brackets that
    close more than they opened are a problem too; mismatched kinds are left to json.loads.
    """
    if text.count('"') > 2 * MAX_STRINGS:  # before the regex, whose memory grows per match
        return f"more than {MAX_STRINGS:,} strings"
    bare = _STRING.sub("", text)
    brackets = _NOT_BRACKET.sub("", bare).encode("ascii")
    containers = len(brackets) // 2
    if containers > MAX_CONTAINERS:
        return f"more than {MAX_CONTAINERS:,} objects and lists"
    if bare.count(",") + containers > MAX_VALUES:
        return f"more than {MAX_VALUES:,} values"
    if not _nesting_within(brackets, limit):
        return f"brackets unbalanced or nested deeper than {limit} levels"
    return None


def _nesting_within(brackets: bytes, limit: int) -> bool:
    level = 0
    for start in range(0, len(brackets), _CHUNK):
        count = min(_CHUNK, len(brackets) - start)
        codes = np.frombuffer(brackets, dtype=np.uint8, count=count, offset=start)
        depth = np.cumsum(np.where(np.isin(codes, _OPENING), 1, -1), dtype=np.int64) + level
        if depth.min() < 0 or depth.max() > limit:
            return False
        level = int(depth[-1])
    return level == 0


def problem_in(value: object, depth: int = 0) -> str | None:
    """Why an item's value cannot be ingested (a lone surrogate, an over-long number, NaN,
    duplicate keys), or None. Bounded: the page's nesting was checked before parsing."""
    if isinstance(value, _Flagged):
        return value.why
    if isinstance(value, str):
        return None if _encodable(value) else "a string with a lone surrogate (not Unicode)"
    if isinstance(value, dict):
        if getattr(value, "duplicate", False):
            return "keys that repeat (exactly or differing only in case)"
        for key, item in value.items():
            found = problem_in(key, depth + 1) or problem_in(item, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = problem_in(item, depth + 1)
            if found:
                return found
    return None


def plain(value: object) -> object:
    """The value with flagged parts spelled out, so it can be shown in quarantine as JSON."""
    if isinstance(value, _Flagged):
        return f"<{value.why}>"
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def parse_page(body: bytes | bytearray) -> tuple[list, str | None, str | None]:
    """The page's (tickets, next link, since mark); MalformedPage when the envelope is unusable.

    `text` of the error is the body decoded leniently, for quarantine (the caller cuts and
    redacts it).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPage(
            "page is not UTF-8", body[:40_000].decode("utf-8", errors="replace")
        ) from None
    problem = structure_problem(text)
    if problem:
        raise MalformedPage(f"page is not valid JSON or too big to read ({problem})", text)
    try:
        document = json.loads(
            text,
            object_pairs_hook=_object,
            parse_int=_number,
            parse_float=_number,
            parse_constant=_constant,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedPage(f"page is not valid JSON ({_reason(exc)})", text) from None
    if not isinstance(document, dict) or not isinstance(document.get("tickets"), list):
        raise MalformedPage('page is not a JSON object with a "tickets" list', text)
    if getattr(document, "duplicate", False):
        raise MalformedPage("page has keys that repeat (exactly or differing only in case)", text)
    next_link, since = document.get("next"), document.get("since")
    if next_link is not None and not isinstance(next_link, str):
        raise MalformedPage('"next" must be a URL string or null', text)
    if since is not None and (isinstance(since, bool) or not isinstance(since, str | int)):
        raise MalformedPage('"since" must be a string or null', text)
    since = str(since) if since is not None else None
    bounds = (("next", next_link, MAX_NEXT_CHARS), ("since", since, MAX_SINCE_CHARS))
    for name, value, limit in bounds:
        if value is not None and len(value) > limit:
            raise MalformedPage(f'"{name}" is longer than {limit:,} characters', text)
        if value is not None and not _encodable(value):
            raise MalformedPage(f'"{name}" holds a lone surrogate (not Unicode)', text)
    return document["tickets"], next_link or None, since


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reason(exc: Exception) -> str:
    # A JSONDecodeError names a position, never page text; other messages are ours or Python's.
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg}: line {exc.lineno} column {exc.colno}"
    return type(exc).__name__
