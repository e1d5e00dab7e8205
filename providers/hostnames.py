"""Hostnames: the form the monitor stores, and the registered domain of one.

`normalise_hostname` accepts every valid host as exports write it (IDN or punycode, `www.`,
a trailing dot, upper case, a `:port`) and refuses only text that is more than a host:
a scheme, path, query, fragment, credentials or whitespace, since such text may be a raw URL.

`registered_domain` works offline with tldextract's bundled Public Suffix List snapshot:
`suffix_list_urls=()` and no cache directory, so it never reaches out and never writes to
disk. No DNS lookups are made here.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

import tldextract

MAX_HOSTNAME_CHARS = 253
_DOTTED_DIGITS = frozenset("0123456789.")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_PORT = re.compile(r"^(?P<host>[^:\[\]]+|\[[0-9A-Fa-f:.%]+\]):(?P<port>\d{1,5})$")
# The usual case, checked in one match: lower-case ASCII labels, an optional trailing dot.
_PLAIN_HOST = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.?"
)
_NOT_HOST = re.compile(r"[\s/\\?#@]|://|^[a-z][a-z0-9+.-]*:(?!\d)", re.IGNORECASE)


class HostnameRefused(ValueError):
    """Text that is not a bare host; the message names the rule, never the value."""


@lru_cache(maxsize=65_536)
def normalise_hostname(text: str) -> str:
    """The stored form of a host: lower case, punycode (A-labels), no trailing dot or port.

    `WWW.Bücher.DE.:8080` -> `www.xn--bcher-kva.de`; `[2001:db8::1]:443` -> `2001:db8::1`.
    Raises HostnameRefused for a scheme, path, query, fragment, credentials, whitespace,
    an invalid label or a name over 253 characters.
    """
    host = text.strip()
    if len(host) <= MAX_HOSTNAME_CHARS and _PLAIN_HOST.fullmatch(host):
        return host.rstrip(".")
    if _NOT_HOST.search(host):
        raise HostnameRefused(
            "host part only: no scheme, path, query, credentials or spaces "
            "(raw URL: refusing to store)"
        )
    port = _PORT.match(host)
    if port:
        host = port["host"]
    host = host.strip("[]") if host.startswith("[") else host
    if ":" in host:  # only an IPv6 address may keep colons
        try:
            return ipaddress.IPv6Address(host.split("%", 1)[0]).compressed
        except ValueError:
            raise HostnameRefused("not a valid host name or IP address") from None
    host = host.rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise HostnameRefused("not a valid internationalised host name") from None
    host = host.lower()
    if not host or len(host) > MAX_HOSTNAME_CHARS:
        raise HostnameRefused(f"empty or longer than {MAX_HOSTNAME_CHARS} characters")
    if not all(_LABEL.match(label) for label in host.split(".")):
        raise HostnameRefused("not a valid host name (labels of letters, digits and hyphens)")
    return host


_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


@lru_cache(maxsize=200_000)
def registered_domain(hostname: str | None) -> str | None:
    """`a.b.example.co.uk` -> `example.co.uk`; None for IP literals, bare labels and blanks."""
    if not hostname:
        return None
    host = hostname.strip().strip("[]").rstrip(".").lower()
    if not host:
        return None
    if ":" in host or _DOTTED_DIGITS.issuperset(host):  # no other text is an IP address
        try:
            ipaddress.ip_address(host)
            return None
        except ValueError:
            pass
    parts = _EXTRACT(host)
    if not parts.suffix or not parts.domain:
        return None
    return f"{parts.domain}.{parts.suffix}"[:253]
