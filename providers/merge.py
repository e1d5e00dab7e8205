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
from providers.rdap import STATUS_ERROR
from providers.results import STATUS_OK, IpResult

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
    return Merger(versions, as_name).merge(
        results.get(ONLINE), results.get(PREFIX), results.get(EMBEDDED), special
    )


def _used(online: bool, prefix: bool, embedded: bool) -> tuple[str, ...]:
    flags = ((ONLINE, online), (PREFIX, prefix), (EMBEDDED, embedded))
    return tuple(sorted(source for source, on in flags if on))


class Merger:
    """`merge_ip` for the many IPs of one run (same data versions and AS names).

    The rules are `merge_ip`'s, spelt out field by field instead of through generic
    helpers, and the sources text of each combination is worked out once: a run
    merges about 100,000 IPs.
    """

    def __init__(
        self, versions: dict[str, str], as_name: Callable[[int], tuple | None] = lambda asn: None
    ):
        self._versions = versions
        self._as_name = as_name
        self._texts: dict[tuple, str] = {}

    def merge(
        self,
        online: IpResult | None,
        table: IpResult | None,
        embedded: IpResult | None,
        special: str | None = None,
    ) -> IpFacts:
        """The facts of one IP from each source's result (None: that source did not answer)."""
        if special:
            return IpFacts(sources=f"ip={special.replace(' ', '-')}")
        online_failed = online is not None and online.status == STATUS_ERROR
        online = online if online is not None and online.status == STATUS_OK else None
        table = table if table is not None and table.status == STATUS_OK else None
        embedded = embedded if embedded is not None and embedded.status == STATUS_OK else None

        asn, asn_src = None, None
        if online and online.asn is not None:
            asn, asn_src = online.asn, ONLINE
        elif table and table.asn is not None:
            asn, asn_src = table.asn, PREFIX

        prefix, prefix_src = None, None
        if online and online.prefix is not None:
            prefix, prefix_src = online.prefix, ONLINE
        elif table and table.prefix is not None:
            prefix, prefix_src = table.prefix, PREFIX
        elif embedded and embedded.prefix is not None:
            prefix, prefix_src = embedded.prefix, EMBEDDED

        named = self._as_name(asn) if asn is not None else None
        network, network_src = None, None
        if named and named[0] is not None:
            network, network_src = named[0], PREFIX
        elif table and table.asn == asn and table.network is not None:
            network, network_src = table.network, PREFIX
        elif embedded and embedded.network is not None:
            network, network_src = embedded.network, EMBEDDED
        elif online and online.network is not None:
            network, network_src = online.network, ONLINE

        registered, registered_src = None, None
        if online and online.registered_country is not None:
            registered, registered_src = online.registered_country, ONLINE
        elif table and table.registered_country is not None:
            registered, registered_src = table.registered_country, PREFIX
        elif named and named[1] is not None:
            registered, registered_src = named[1], PREFIX

        geo = embedded.geo_country if embedded else None
        operator = cdn_operator(
            asn, (network, embedded.network if embedded else None, table.network if table else None)
        )
        cdn = True if operator else (False if asn is not None or network else None)
        picked = (asn_src, network_src, prefix_src, registered_src)
        used = (ONLINE in picked, PREFIX in picked, EMBEDDED in picked or bool(geo))
        key = (used, network_src, operator, online_failed)
        text = self._texts.get(key)
        if text is None:
            text = self._texts[key] = sources_text(
                _used(*used), self._versions, network_src, operator, online_failed
            )
        return IpFacts(asn, network, prefix, geo, registered, operator, cdn, text)
