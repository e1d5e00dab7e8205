"""Merge what the resolvers said about an IP, then fill one ticket's resolution columns.

Per IP (the same for every ticket on it):
- `asn`: online RDAP/BGP answer, else the prefix table (the embedded data has no AS number);
- `prefix`: the announced prefix from the same sources, else the embedded network;
- `network` (AS organisation): the AS-names entry of that AS, else the embedded
  organisation name, else the RDAP network name;
- `geo_country`: the embedded geolocation; `registered_country`: RDAP, else the AS registration;
- `cdn`: the network is a known CDN/proxy (True), a network that is not (False), or unknown (None).
Per ticket:
- `country` (jurisdiction): geolocated, else registered, else the hotline's stated country;
- `eu`/`inhope` on the report date (None when unknown); `provider` from the registry;
- `resolution_sources` says which source gave which field and the data versions used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from providers.cdn import cdn_operator
from providers.hostnames import registered_domain
from providers.jurisdictions import Jurisdictions, normalise_country
from providers.registry import AliasMap
from providers.results import IpResult

MAX_SOURCES = 255
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
    online = results.get(ONLINE) if results.get(ONLINE) and results[ONLINE].found else None
    table = results.get(PREFIX) if results.get(PREFIX) and results[PREFIX].found else None
    embedded = results.get(EMBEDDED) if results.get(EMBEDDED) and results[EMBEDDED].found else None
    asn, asn_src = _first((online and online.asn, ONLINE), (table and table.asn, PREFIX))
    prefix, prefix_src = _first(
        (online and online.prefix, ONLINE), (table and table.prefix, PREFIX), (embedded and embedded.prefix, EMBEDDED))
    named = as_name(asn) if asn is not None else None
    table_name = table.network if table and table.asn == asn else None
    network, network_src = _first(
        (named[0] if named else None, PREFIX), (table_name, PREFIX),
        (embedded and embedded.network, EMBEDDED), (online and online.network, ONLINE))
    registered, registered_src = _first(
        (online and online.registered_country, ONLINE), (table and table.registered_country, PREFIX),
        (named[1] if named else None, PREFIX))
    geo, geo_src = _first((embedded and embedded.geo_country, EMBEDDED))
    names = [network, embedded and embedded.network, table and table.network]
    operator = cdn_operator(asn, names)
    cdn = True if operator else (False if asn is not None or network else None)
    fields = [("asn", asn_src), ("network", network_src), ("prefix", prefix_src),
              ("geo", geo_src), ("registered", registered_src)]
    used = sorted({source for _, source in fields if source})
    text = " ".join(f"{field}={source}" for field, source in fields if source)
    text += "".join(f" {source}@{versions[source]}" for source in used if source in versions)
    if operator:
        text += f" cdn={operator.replace(' ', '-')}"
    if results.get(ONLINE) is not None and results[ONLINE].status == "error":
        text += f" {ONLINE}=failed"
    return IpFacts(asn, network, prefix, geo, registered, operator, cdn, text.strip() or "ip=no-data")


class TicketMerger:
    """Fills the resolution columns of tickets, with memos so a million tickets stay cheap."""

    def __init__(self, facts: dict[str, IpFacts], jurisdictions: Jurisdictions, aliases: AliasMap):
        """`facts` by canonical IP; `aliases` is updated with names seen for the first time."""
        self.facts = facts
        self.jurisdictions = jurisdictions
        self.aliases = aliases
        self._providers: dict[tuple, str] = {}

    def values(self, ip: str | None, hostname: str | None, stated_provider: str | None,
               stated_country: str | None, reported_at: datetime) -> dict:
        """The resolution columns for one ticket (`ip` canonical or None)."""
        facts = self.facts.get(ip) if ip else None
        facts = facts or IpFacts(sources="ip=no-data" if ip else "ip=none")
        stated = normalise_country(stated_country)
        country, origin = _first((facts.geo_country, "geo"), (facts.registered_country, "registered"),
                                 (stated, "stated"))
        member = self.jurisdictions.membership(country, reported_at.date())
        key = (stated_provider, facts.network, facts.cdn_operator)
        provider = self._providers.get(key)
        if provider is None:
            provider = self._providers[key] = self.aliases.canonical(*key)
        sources = f"country={origin or 'none'} {facts.sources}"
        return {
            "registered_domain": registered_domain(hostname),
            "provider": provider,
            "asn": facts.asn,
            "network": facts.network,
            "prefix": facts.prefix,
            "geo_country": facts.geo_country,
            "registered_country": facts.registered_country,
            "country": country,
            "cdn": facts.cdn,
            "eu": member.eu,
            "inhope": member.inhope,
            "resolution_sources": sources[:MAX_SOURCES],
            "country_from": origin or "none",
        }
