"""The registered domain of a hostname (`monitor.ingest.hostnames` gives the stored form).

`registered_domain` works offline with tldextract's bundled Public Suffix List snapshot:
`suffix_list_urls=()` and no cache directory, so it never reaches out and never writes to
disk. No DNS lookups are made here.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

import tldextract

_DOTTED_DIGITS = frozenset("0123456789.")


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
