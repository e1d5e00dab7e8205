"""Embedded offline resolver: geoip2fast's bundled GeoLite2 country + ASN data.

Gives the geolocated country and the AS organisation name; it carries no AS
number. The data file takes a fraction of a second to load and geoip2fast keeps
it in module globals, so it is loaded once per process, on first use, together
with the numpy index over it (`embedded_index`) that looks a whole batch up at once.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Sequence
from datetime import timedelta

from providers.embedded_index import GeoipIndex, Match, Network
from providers.results import STATUS_OK, IpResult, clean_country

DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"  # country + ASN names, IPv4 and IPv6
NAME = "embedded"

_lock = threading.Lock()
_geoip = None
_index: GeoipIndex | None = None  # None: geoip2fast's own lookup, one IP at a time


def _load():
    global _geoip, _index
    with _lock:
        if _geoip is None:
            from geoip2fast import GeoIP2Fast

            geoip = GeoIP2Fast(geoip2fast_data_file=DATA_FILE)
            _index = GeoipIndex.build(geoip)
            # The data is millions of integers in plain lists, kept for the whole process:
            # out of the cyclic collector's generations, they are not re-scanned at every
            # full collection (each took about 0.1 s).
            gc.freeze()
            _geoip = geoip
    return _geoip


def networks(ips: Sequence[str]) -> list[Network | None]:
    """`lookup` with the AS network, else the country network, as the one network."""
    geoip = _load()
    if _index is not None:
        return _index.networks(ips)
    return [_network(_match(geoip.lookup(ip))) for ip in ips]


def _match(found) -> Match | None:
    if not found.cidr:  # invalid address, no network, or a failed lookup
        return None
    return Match(found.country_code, found.is_private, found.cidr, found.asn_name, found.asn_cidr)


def _network(match: Match | None) -> Network | None:
    if match is None:
        return None
    return Network(
        match.country_code, match.is_private, match.asn_name, match.asn_cidr or match.cidr
    )


def dataset() -> str:
    """The bundled dataset's own name, e.g. `GeoLite2-CountryASN-IPv4IPv6-en-20240618`."""
    return str(_load().source_info).split(":", 1)[-1]


def data_date() -> str | None:
    """The date of the bundled data (YYYY-MM-DD), read from the dataset name."""
    match = re.search(r"(\d{4})(\d{2})(\d{2})", dataset())
    return f"{match[1]}-{match[2]}-{match[3]}" if match else None


def data_version() -> str:
    """`geoip2fast-<library>-geolite2-<data date>`, e.g. `geoip2fast-1.2.2-geolite2-20240618`."""
    import geoip2fast

    day = (data_date() or "unknown").replace("-", "")
    return f"geoip2fast-{geoip2fast.__version__}-geolite2-{day}"


class EmbeddedResolver:
    """Geolocated country and AS organisation from the data bundled with geoip2fast."""

    name = NAME
    ttl: timedelta | None = None

    def data_version(self) -> str | None:
        """The bundled dataset's version (always available: it ships with the library)."""
        return data_version()

    def resolve(self, ips: Sequence[str]) -> dict[str, IpResult]:
        """Look the IPs up in memory; networks the data does not cover are left out."""
        results: dict[str, IpResult] = {}
        for ip, found in zip(ips, networks(ips), strict=True):
            if found is None:
                continue
            country = clean_country(found.country_code)
            if found.is_private or (country is None and not found.asn_name):
                continue
            results[ip] = IpResult(
                status=STATUS_OK,
                network=found.asn_name or None,
                prefix=found.network or None,
                geo_country=country,
            )
        return results
