"""Merge what the resolvers said about an IP into the facts every ticket on that IP shares.

Per IP (the same for every ticket on it):
- `asn`: online RDAP/BGP answer, else the prefix table (the embedded data has no AS number);
- `prefix`: the announced prefix from the same sources, else the embedded network;
- `network` (AS organisation): the AS-names entry of that AS, else the embedded
  organisation name, else the RDAP network name;
- `geo_country`: the embedded geolocation; `registered_country`: RDAP, else the AS registration;
- `cdn`: the network is a known CDN/proxy (True), a network that is not (False), or unknown (None).
`sources` lists the data versions that contributed (see `sources_text`). The
per-ticket rules (country fallback, provider, membership on the report day) are
applied in bulk by `ticket_update`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from providers.cdn import cdn_operator
from providers.results import IpResult

ONLINE, PREFIX, EMBEDDED = "rdap", "prefix_table", "embedded"


@dataclass(frozen=True, slots=True)
class IpFacts:
    """The merged facts about one IP."""

    asn: int | None = None
    network: str | None = None
    prefix: str | None = None
    geo_country: str | None = None
    registered_country: str | None = None
    cdn_operator: str | None = None
    cdn: bool | None = None
    sources: str = ""


def _first(*pairs: tuple[object, str]) -> tuple[object, str | None]:
    for value, source in pairs:
        if value is not None:
            return value, source
    return None, None


_ORDER = (ONLINE, PREFIX, EMBEDDED)
_sources_memo: dict[tuple, str] = {}


def sources_text(
    used: tuple[str, ...],
    versions: dict[str, str],
    network_from: str | None,
    operator: str | None,
    online_failed: bool,
) -> str:
    """The data versions that gave this IP's facts.

    E.g. `pfx2as-20200201-a5764d0f geoip2fast-1.2.2-geolite2-20240618`.

    Each field comes from the first listed source that has it, in the order of the
    module docstring; only a network name taken from the embedded data although the
    prefix table matched is said explicitly (`network=embedded`). Data versions name
    their source and are the `data_version` of the answers kept in `ip_resolution`.
    """
    key = (used, tuple(sorted(versions.items())), network_from, operator, online_failed)
    text = _sources_memo.get(key)
    if text is None:
        parts = [versions.get(source, source) for source in _ORDER if source in used]
        if network_from == EMBEDDED and PREFIX in used:
            parts.append("network=embedded")
        if operator:
            parts.append(f"cdn={operator.replace(' ', '-')}")
        if online_failed:
            parts.append(f"{ONLINE}=failed")
        text = _sources_memo[key] = " ".join(parts) or "ip=no-data"
    return text


def merge_ip(
    results: dict[str, IpResult],
    versions: dict[str, str],
    as_name: Callable[[int], tuple | None] = lambda asn: None,
    special: str | None = None,
) -> IpFacts:
    """Combine per-source results for one IP (`results` by source name; missing = not found).

    `special` (private, loopback, ...) short-cuts everything: such an address names no network.
    """
    if special:
        return IpFacts(sources=f"ip={special.replace(' ', '-')}")
    online, table, embedded = (results.get(name) for name in (ONLINE, PREFIX, EMBEDDED))
    online_failed = online is not None and online.status == "error"
    online = online if online is not None and online.found else None
    table = table if table is not None and table.found else None
    embedded = embedded if embedded is not None and embedded.found else None
    asn, asn_src = _first((online and online.asn, ONLINE), (table and table.asn, PREFIX))
    prefix, prefix_src = _first(
        (online and online.prefix, ONLINE),
        (table and table.prefix, PREFIX),
        (embedded and embedded.prefix, EMBEDDED),
    )
    named = as_name(asn) if asn is not None else None
    table_name = table.network if table and table.asn == asn else None
    network, network_src = _first(
        (named[0] if named else None, PREFIX),
        (table_name, PREFIX),
        (embedded and embedded.network, EMBEDDED),
        (online and online.network, ONLINE),
    )
    registered, registered_src = _first(
        (online and online.registered_country, ONLINE),
        (table and table.registered_country, PREFIX),
        (named[1] if named else None, PREFIX),
    )
    geo = embedded.geo_country if embedded else None
    operator = cdn_operator(asn, (network, embedded and embedded.network, table and table.network))
    cdn = True if operator else (False if asn is not None or network else None)
    used = tuple(
        sorted(
            {src for src in (asn_src, network_src, prefix_src, registered_src) if src}
            | ({EMBEDDED} if geo else set())
        )
    )
    text = sources_text(used, versions, network_src, operator, online_failed)
    return IpFacts(asn, network, prefix, geo, registered, operator, cdn, text)
