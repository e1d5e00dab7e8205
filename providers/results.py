"""The one small interface every resolver implements, and the result it gives per IP.

Like IntelMQ's experts, each resolver is a swappable unit: it says which data
version it answers from and turns a batch of IPs into results. The resolution
stage stores each result per (resolver, data version, IP), so an IP is looked up
once per data version and older answers stay on record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, runtime_checkable

STATUS_OK = "ok"
STATUS_NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class IpResult:
    """What one resolver knows about one IP. Fields it cannot tell stay None."""

    status: str = STATUS_OK
    asn: int | None = None
    network: str | None = None
    prefix: str | None = None
    geo_country: str | None = None
    registered_country: str | None = None
    rir: str | None = None
    detail: str | None = None

    @property
    def found(self) -> bool:
        """True when the resolver had data for the IP."""
        return self.status == STATUS_OK


NOT_FOUND = IpResult(status=STATUS_NOT_FOUND)


@runtime_checkable
class Resolver(Protocol):
    """A source of facts about IPs.

    `name`: short source name stored with every result (`embedded`, `prefix_table`, `rdap`).
    `ttl`: None when results are valid for as long as the data version is current;
    else how long a stored result may be reused (online sources, whose version is
    the fetch time).
    """

    name: str
    ttl: timedelta | None

    def data_version(self) -> str | None:
        """The version results are tagged with; None when the resolver has no data."""

    def resolve(self, ips: Sequence[str]) -> dict[str, IpResult]:
        """Results for global (non-special) canonical IPs; missing keys mean not found."""


def clean_country(value: object) -> str | None:
    """A two-letter upper-case country code, or None for anything else."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if len(code) == 2 and code.isascii() and code.isalpha():
        return code
    return None
