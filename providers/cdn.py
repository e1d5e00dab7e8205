"""Known CDN / reverse-proxy networks: their IPs say who fronts a site, not who hosts it.

A ticket on such a network is marked `cdn`, and when the hotline named no
provider the canonical provider becomes "unknown (behind <operator>)", so a
scorecard never blames the CDN for the origin host's slowness. The list is
`providers/data/cdn_networks.csv` (operator, AS number, name pattern, note).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CDN_FILE = Path(__file__).parent / "data" / "cdn_networks.csv"


@dataclass(frozen=True)
class CdnNetwork:
    """One row of the list: matches by AS number, by organisation-name pattern, or both."""

    operator: str
    asn: int | None
    pattern: re.Pattern | None
    note: str


@lru_cache(maxsize=1)
def cdn_networks() -> tuple[CdnNetwork, ...]:
    """The shipped list."""
    with CDN_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(
            CdnNetwork(
                operator=row["operator"].strip(),
                asn=int(row["asn"]) if row["asn"].strip() else None,
                pattern=re.compile(row["name_pattern"], re.IGNORECASE)
                if row["name_pattern"].strip()
                else None,
                note=row["note"].strip(),
            )
            for row in csv.DictReader(handle)
        )


@lru_cache(maxsize=1)
def _by_asn() -> dict[int, str]:
    return {net.asn: net.operator for net in cdn_networks() if net.asn is not None}


@lru_cache(maxsize=1)
def _any_pattern() -> re.Pattern | None:
    """All name patterns as one alternation, to pass over the many names none of them matches.

    None (no shortcut) when a pattern has groups or global flags, which would not combine.
    """
    patterns = [net.pattern for net in cdn_networks() if net.pattern is not None]
    if not patterns or any(pattern.groups for pattern in patterns):
        return None
    try:
        return re.compile("|".join(f"(?:{p.pattern})" for p in patterns), re.IGNORECASE)
    except re.error:
        return None


@lru_cache(maxsize=65536)
def _by_name(name: str) -> str | None:
    text = name.strip()
    shortcut = _any_pattern()
    if shortcut is not None and shortcut.search(text) is None:
        return None
    for net in cdn_networks():
        if net.pattern is not None and net.pattern.search(text):
            return net.operator
    return None


def cdn_operator(asn: int | None, names: Iterable[str | None] = ()) -> str | None:
    """The CDN/proxy operator for a network (by AS number, else by any of its names), or None."""
    if asn is not None and asn in _by_asn():
        return _by_asn()[asn]
    for name in names:
        if name:
            operator = _by_name(name)
            if operator:
                return operator
    return None
