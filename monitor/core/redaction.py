"""Redaction: the one place that makes outside text safe to store and log.

Exception messages, error texts from servers and libraries, and other text the monitor did
not write itself may carry a reported URL or a credential. `redact_text` removes both, and
everything that stores or logs such text goes through it: the ingest run of a failed ingest,
the scheduler's run record and log, quarantined lines and notes. It can only redact what it
recognises, so messages the monitor writes itself still keep URLs and secrets out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED_URL = "[redacted: raw URL]"
SECRET = "[redacted]"
MAX_ERROR_CHARS = 2000

# The bounded repetitions ({0,30}, {1,256}, ...) keep each pattern linear on hostile text.
# A scheme (the userinfo may hold any character but whitespace, `/` and `@`), or `www.`.
URL_IN_TEXT = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.\-]{0,30}://(?:[^\s/@]{0,256}@)?|www\.)[^\s\"',]*"
)
# `host.tld/path` without a scheme (a reported URL as people write it). The top-level label
# must be letters, so paths such as `python3.11/site-packages` stay readable.
_SCHEMELESS_URL = re.compile(r"(?<![\w.@/-])(?:[\w-]+\.)+[^\W\d_]{2,}(?::\d+)?/[^\s\"',]*")
# Defanged URLs as analysts write them: `hxxps[:]//evil[.]example/path`, `evil[.]example`.
_DEFANGED = re.compile(
    r"(?i)\b(?:hxxps?|hxxp|h\[?xx\]?ps?|fxp|meow)(?:\[:\]|\(:\)|:)?(?:\[/\]|/)*[^\s\"',]*"
    r"|[^\s\"',\[\]()]{0,256}(?:\[\.\]|\(\.\)|\[dot\]|\(dot\)|\{\.\})[^\s\"',]*"
)
# Scheme-relative `//host/path`, and an IP address with a path (`10.6.6.6/path/y.jpg`), a
# loopback one too: a careless export may hold any address. The monitor's own feed labels
# read `host /path` (monitor.ingest.feed_client.feed_label), so they stay readable.
_SCHEME_RELATIVE = re.compile(r"(?<![\w:/])//(?:[^\s/@]{0,256}@)?[\w-]+(?:\.[\w-]+)+[^\s\"',]*")
_IP_PATH = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?/[^\s\"',]*")
# `user:password@host` without a scheme (part of a connection string).
_USERINFO = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}:[^\s@/'\"]{1,256}@(?=[\w\[])")
URL_START = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.\-]*://|www\.|[\w\-]+(?:\.[\w\-]+)+/)")
_AUTH_SCHEME = r"(?:bearer|basic|digest|token|negotiate)\s+"
# `password=…`, `api_key: …`, `"client_secret": "…"`, `Authorization: Bearer …`, `PGPASSWORD=…`;
# a value already redacted is left alone, so redacting twice changes nothing.
_KEY_VALUE = re.compile(
    r"(?i)(?P<key>(?:password|passwd|passphrase|pwd|secret|token|"
    r"api[_-]?key|access[_-]?key|private[_-]?key|authorization|auth|credentials?|cookie|"
    r"session[_-]?id|signature|sig|apikey|jwt)(?:[_-][\w-]{0,40})?)"
    r"(?P<sep>[\"']?[ \t]*[=:]\s*)"
    rf"(?!(?:{_AUTH_SCHEME})?[\"']?\[redacted)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|"
    rf"(?P<scheme>{_AUTH_SCHEME})?[\"']?(?:[^\s,;&'\"<>)\]}}:]|:(?!\s|$))+)"
)
# A credential after its HTTP auth scheme, wherever it stands (`Bearer eyJ…`).
_BEARER = re.compile(
    r"(?i)\b(?:(?P<bearer>bearer)\s+[A-Za-z0-9._~+/=-]+"
    r"|(?P<other>basic|token)\s+[A-Za-z0-9._~+/=-]{6,})"
)


def storable(text: str) -> str:
    """Text any database can hold: NUL, undecodable bytes and lone surrogates escaped
    (`\\x00`, `\\xe9`, `\\ud800`)."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL
    if text.isascii():
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is not an escaped byte (JSON "\ud800")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text safe to store and log: URLs, credentials and tokens removed; the rest kept.

    Removes the given `secrets` by value (e.g. the feed tokens of this process), anything
    URL-shaped (with a scheme, `www.`, or `host.tld/path`), `user:password@` credentials,
    `key=value` / `key: value` pairs whose key names a secret (password, token, api key,
    Authorization, cookie, ...) and credentials after `Bearer`/`Basic`/`Token`.
    Redacting redacted text changes nothing.
    """
    text = storable(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, SECRET)
    text = URL_IN_TEXT.sub(REDACTED_URL, text)
    if "[" in text or "(" in text or "{" in text or "xx" in text.lower():
        text = _DEFANGED.sub(_defanged, text)
    text = _SCHEME_RELATIVE.sub(REDACTED_URL, text)
    text = _IP_PATH.sub(REDACTED_URL, text)
    text = _SCHEMELESS_URL.sub(REDACTED_URL, text)
    text = _USERINFO.sub(f"{SECRET}@", text)
    text = _KEY_VALUE.sub(_redact_value, text)
    return _BEARER.sub(lambda match: f"{match['bearer'] or match['other']} {SECRET}", text)


def _defanged(match: re.Match) -> str:
    # `[redacted...]` markers themselves contain brackets but no defanged dot.
    return match.group() if match.group().startswith("[redacted") else REDACTED_URL


def looks_like_url(value: str) -> bool:
    """True for text that reads as a URL: a scheme, `//host`, `www.`, defanged (`hxxp`, `[.]`),
    or `host.tld/path` / `ip/path`."""
    if "://" in value:
        return True
    lowered = value.lower()
    if "/" not in value and not lowered.startswith("www.") and "[" not in value:
        return "hxxp" in lowered or "(.)" in value
    return bool(
        URL_START.match(value)
        or _DEFANGED.search(value)
        or _SCHEME_RELATIVE.search(value)
        or _IP_PATH.search(value)
        or _SCHEMELESS_URL.search(value)
    )


def url_or_credential(value: str) -> bool:
    """True for text shaped like a URL, `user:password@host` credentials, or `key=secret`."""
    if looks_like_url(value):
        return True
    if "@" in value and _USERINFO.search(value):
        return True
    return ("=" in value or ":" in value) and bool(_KEY_VALUE.search(value))


def safe_label(text: str, limit: int = 128) -> str:
    """Outside text used as a name (a file or column name): redacted, without control or
    bidi characters (which a terminal would obey), and cut to `limit` characters."""
    text = redact_text(text)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text[:limit]


def error_text(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """`Type: message` of an exception, redacted and cut to MAX_ERROR_CHARS, for run records."""
    return redact_text(f"{type(exc).__name__}: {exc}", secrets)[:MAX_ERROR_CHARS]


def _redact_value(match: re.Match) -> str:
    value = match["value"]
    if len(value) > 1 and value[0] in "\"'" and value[-1] == value[0]:
        return f"{match['key']}{match['sep']}{value[0]}{SECRET}{value[0]}"
    return f"{match['key']}{match['sep']}{match['scheme'] or ''}{SECRET}"
