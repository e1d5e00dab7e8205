"""The bulk merge follows the merge rules exactly (checked against a plain, generic spelling)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from providers.cdn import cdn_operator
from providers.merge import EMBEDDED, ONLINE, PREFIX, IpFacts, Merger, merge_ip, sources_text
from providers.results import IpResult

VERSIONS = {ONLINE: "rdap-20250101", PREFIX: "pfx2as-20250101-abc", EMBEDDED: "geoip2fast-x"}
AS_NAMES = {
    13335: ("CLOUDFLARENET", "US", "arin"),
    24940: ("Hetzner Online GmbH", "DE", "ripencc"),
    60781: ("LeaseWeb Netherlands B.V.", None, "ripencc"),
    64500: (None, "NL", None),
}


def _first(*pairs):
    for value, source in pairs:
        if value is not None:
            return value, source
    return None, None


def reference_merge(results, versions, as_name, special=None) -> IpFacts:
    """The merge rules of `providers.merge`, one generic step per field."""
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


def _maybe(values):
    return st.one_of(st.none(), st.sampled_from(values))


results = st.builds(
    IpResult,
    status=st.sampled_from(["ok", "ok", "ok", "not_found", "error"]),
    asn=_maybe([13335, 24940, 60781, 64500, 65000, 0]),
    network=_maybe(["CLOUDFLARENET", "Hetzner Online GmbH", "Example Hosting", ""]),
    prefix=_maybe(["192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8"]),
    geo_country=_maybe(["DE", "NL", "US", ""]),
    registered_country=_maybe(["DE", "NL"]),
)


@settings(max_examples=1500, deadline=None)
@given(
    online=st.one_of(st.none(), results),
    table=st.one_of(st.none(), results),
    embedded=st.one_of(st.none(), results),
    special=st.one_of(st.none(), st.sampled_from(["private address", ""])),
)
def test_bulk_merge_follows_the_rules(online, table, embedded, special):
    given_results = {
        name: result
        for name, result in ((ONLINE, online), (PREFIX, table), (EMBEDDED, embedded))
        if result is not None
    }
    expected = reference_merge(given_results, VERSIONS, AS_NAMES.get, special)
    assert Merger(VERSIONS, AS_NAMES.get).merge(online, table, embedded, special) == expected
    assert merge_ip(given_results, VERSIONS, AS_NAMES.get, special) == expected


def test_one_merger_gives_each_ip_its_own_facts():
    merger = Merger(VERSIONS, AS_NAMES.get)
    table = IpResult(asn=24940, network="Hetzner Online GmbH", prefix="88.198.0.0/16")
    embedded = IpResult(network="CLOUDFLARENET", prefix="104.16.0.0/13", geo_country="US")
    first = merger.merge(None, table, None)
    second = merger.merge(None, None, embedded)
    assert (
        merger.merge(None, table, None)
        == first
        == reference_merge({PREFIX: table}, VERSIONS, AS_NAMES.get)
    )
    assert second == reference_merge({EMBEDDED: embedded}, VERSIONS, AS_NAMES.get)
    assert second.cdn and second.sources.endswith("cdn=Cloudflare")
