"""Hostnames as ingest stores them.

`normalise_hostname` accepts every valid host as exports write it (IDN or punycode, `www.`,
a trailing dot, upper case, a `:port`) and refuses only text that is more than a host:
a scheme, path, query, fragment, credentials or whitespace, since such text may be a raw URL.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

MAX_HOSTNAME_CHARS = 253
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
