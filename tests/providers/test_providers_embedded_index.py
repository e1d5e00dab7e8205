"""The bulk lookup over geoip2fast's lists answers exactly what geoip2fast's own `lookup` does."""

from __future__ import annotations

import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from providers import embedded
from providers.embedded import EmbeddedResolver
from providers.embedded_index import GeoipIndex, Match


def _reference(ip: str) -> Match | None:
    """geoip2fast's own answer, one IP at a time."""
    return embedded._match(embedded._load().lookup(ip))


def _index() -> GeoipIndex:
    embedded._load()
    assert embedded._index is not None, "the installed geoip2fast's internals were not recognised"
    return embedded._index


def _random_ips(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    ips = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.55:
            ips.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
        elif kind < 0.8:  # global unicast IPv6, where the data is
            ips.append(str(ipaddress.IPv6Address((1 << 125) | rng.getrandbits(125))))
        elif kind < 0.9:
            ips.append(str(ipaddress.IPv6Address(rng.getrandbits(128))))
        else:  # IPv6 below 2**32 and around it: geoip2fast sizes these as IPv4
            ips.append(str(ipaddress.IPv6Address(rng.getrandbits(rng.choice((16, 32, 33, 40))))))
    return ips


EDGES = [
    "0.0.0.0",
    "0.0.0.1",
    "10.1.2.3",
    "100.64.0.1",
    "127.0.0.1",
    "169.254.1.1",
    "172.16.0.1",
    "192.168.255.255",
    "198.18.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:ffff",
    "::1:0:0",
    "::1:0:1",
    "::ffff:1.2.3.4",
    "64:ff9b::1.2.3.4",
    "2001:db8::1",
    "2002::1",
    "fc00::1",
    "fe80::1",
    "ff02::1",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "5.79.64.1",
    "104.16.0.1",
    "2a01:4f8::1",
    "2606:4700::1",
]


def test_bulk_lookup_equals_geoip2fast_for_random_and_edge_addresses():
    ips = _random_ips(5_000, seed=7) + EDGES
    expected = [_reference(ip) for ip in ips]
    assert _index().lookup(ips) == expected
    assert _index().networks(ips) == [embedded._network(match) for match in expected]


def _address(value: int) -> str:
    return str(ipaddress.IPv4Address(value) if value < 1 << 32 else ipaddress.IPv6Address(value))


def test_bulk_lookup_equals_geoip2fast_at_network_boundaries():
    """First and last address of data networks, and the addresses just outside them."""
    index = _index()
    rng = random.Random(11)
    values = set()
    for networks in (index._countries, index._asns):
        for row in rng.sample(range(networks.key.size), 400):
            first = (int(networks.hi[row]) << 64) | int(networks.lo[row])
            width = 32 if first < 1 << 32 else 128
            end = first + (1 << (width - min(int(networks.length[row]), width)))
            values.update((first - 1, first, end - 1, end))
    ips = [_address(value) for value in sorted(values) if 0 <= value < 1 << 128]
    assert index.lookup(ips) == [_reference(ip) for ip in ips]


def test_invalid_addresses_find_nothing():
    assert _index().lookup(["junk", "", "1.2.3.4.5", "2001:::1", "1.2.3.4"])[:4] == [None] * 4
    assert _index().networks(["junk", ""]) == [None, None]
    assert _index().lookup([]) == _index().networks([]) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.ip_addresses(), min_size=1, max_size=20))
def test_bulk_lookup_equals_geoip2fast_for_any_address(addresses):
    ips = [str(address) for address in addresses]
    expected = [_reference(ip) for ip in ips]
    assert _index().lookup(ips) == expected
    assert _index().networks(ips) == [embedded._network(match) for match in expected]


def test_resolver_gives_the_same_results_without_the_index(monkeypatch):
    """If geoip2fast's internals are not recognised, the resolver falls back to `lookup`."""
    ips = _random_ips(2_000, seed=3) + EDGES
    bulk = EmbeddedResolver().resolve(ips)
    assert bulk
    monkeypatch.setattr(embedded, "_index", None)
    assert EmbeddedResolver().resolve(ips) == bulk


def test_unrecognised_internals_give_no_index(monkeypatch):
    from geoip2fast import geoip2fast as module

    geoip = embedded._load()
    monkeypatch.setattr(module, "__DAT_VERSION__", 121)
    assert GeoipIndex.build(geoip) is None
    monkeypatch.undo()
    monkeypatch.setattr(module, "mainIndex", [1, *module.mainIndex[1:]])
    assert GeoipIndex.build(geoip) is None


def test_private_ranges_are_flagged_as_geoip2fast_flags_them():
    ips = ["10.0.0.1", "192.168.1.1", "fc00::1"]
    found = _index().lookup(ips)
    assert found == [_reference(ip) for ip in ips]
    assert all(match is None or match.is_private for match in found)
