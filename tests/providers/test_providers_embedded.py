"""Addresses and the embedded offline resolver (geoip2fast's bundled GeoLite2 data)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.addresses import canonical_ip, ipv4_to_uint, ipv6_to_halves, special_purpose
from providers.embedded import EmbeddedResolver, data_date, dataset


@pytest.mark.parametrize(
    ("ip", "reason"),
    [
        ("10.1.2.3", "private address"),
        ("192.168.0.10", "private address"),
        ("172.16.5.4", "private address"),
        ("fd12:3456::1", "private address"),
        ("127.0.0.1", "loopback address"),
        ("::1", "loopback address"),
        ("169.254.1.1", "link-local address"),
        ("fe80::1", "link-local address"),
        ("224.0.0.251", "multicast address"),
        ("ff02::1", "multicast address"),
        ("100.64.1.1", "shared address space (carrier-grade NAT)"),
        ("192.0.2.7", "documentation address"),
        ("2001:db8::1", "documentation address"),
        ("0.0.0.0", "unspecified address"),
        ("240.0.0.1", "reserved address"),
        ("5.79.64.1", None),
        ("2a01:4f8::1", None),
    ],
)
def test_special_purpose_addresses_are_named_not_located(ip, reason):
    assert special_purpose(ip) == reason


def test_canonical_ip_compresses_and_unmaps_ipv4():
    assert canonical_ip("::ffff:5.79.64.1") == "5.79.64.1"
    assert canonical_ip("2A01:04F8:0000::0001") == "2a01:4f8::1"
    assert canonical_ip("[2a01:4f8::1]") == "2a01:4f8::1"
    assert canonical_ip("not an ip") is None


def test_integer_conversion_matches_ipaddress():
    v4 = ["0.0.0.0", "5.79.64.1", "255.255.255.255"]
    assert ipv4_to_uint(v4).tolist() == [int(ipaddress.ip_address(ip)) for ip in v4]
    v6 = ["2a01:4f8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"]
    hi, lo = ipv6_to_halves(v6)
    assert [(h << 64) | low for h, low in zip(hi.tolist(), lo.tolist(), strict=True)] == [
        int(ipaddress.ip_address(ip)) for ip in v6
    ]


@pytest.mark.parametrize(
    ("ip", "country", "network"),
    [
        ("5.79.64.1", "NL", "LeaseWeb Netherlands B.V."),  # LeaseWeb Amsterdam
        ("85.17.0.1", "NL", "LeaseWeb Netherlands B.V."),
        ("88.198.0.1", "DE", "Hetzner Online GmbH"),  # Hetzner
        ("2a01:4f8::1", "DE", "Hetzner Online GmbH"),  # Hetzner over IPv6
        ("45.148.164.1", "AE", "IQWeb FZ-LLC"),  # IQWeb, Dubai
        ("104.16.0.1", "US", "CLOUDFLARENET"),
    ],
)
def test_known_real_ips_resolve_to_their_network_and_country(ip, country, network):
    result = EmbeddedResolver().resolve([ip])[ip]
    assert (result.geo_country, result.network) == (country, network)
    assert result.asn is None  # the embedded data carries no AS number
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(result.prefix)


def test_embedded_data_version_names_the_library_and_the_data_date():
    import geoip2fast

    assert dataset().startswith("GeoLite2-") and dataset().endswith(data_date().replace("-", ""))
    assert EmbeddedResolver().data_version() == (
        f"geoip2fast-{geoip2fast.__version__}-geolite2-{data_date().replace('-', '')}"
    )


def test_addresses_outside_the_data_are_left_out():
    # 2001:db8:: is documentation space: geoip2fast has no network for it.
    assert EmbeddedResolver().resolve(["2001:db8::1"]) == {}


def test_vectorised_pre_check_agrees_with_the_exact_classification():
    import random

    from providers.ip_facts import canonical_ips, special_reasons

    rng = random.Random(11)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(20_000)]
    ips += [ipaddress.IPv6Address(rng.getrandbits(128)).compressed for _ in range(5_000)]
    ips += [
        ipaddress.IPv6Address(
            (0x2000 + rng.getrandbits(13)) << 112 | rng.getrandbits(112)
        ).compressed
        for _ in range(5_000)
    ]  # mostly global unicast 2000::/3
    ips += [
        "2001:db8::1",
        "2002::1",
        "3fff::1",
        "fe80::1",
        "::1",
        "2001:4860::1",
        "100::1",
        "10.0.0.1",
        "8.8.8.8",
    ]
    found = special_reasons(ips)
    assert {ip: found[ip] for ip in ips} == {ip: special_purpose(ip) for ip in ips}
    assert canonical_ips(["::ffff:8.8.8.8", "8.8.8.8", "2A00::1", "1.2.3", "junk"]) == {
        "::ffff:8.8.8.8": "8.8.8.8",
        "8.8.8.8": "8.8.8.8",
        "2A00::1": "2a00::1",
        "1.2.3": None,
        "junk": None,
    }


def _reference_canonical_v6(text: str) -> str | None:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped
    return mapped.compressed if mapped else address.compressed


def _spellings(address: ipaddress.IPv6Address) -> list[str]:
    return [address.compressed, address.exploded, address.compressed.upper(), str(address)]


@settings(max_examples=500, deadline=None)
@given(st.ip_addresses(v=6))
def test_canonical_ipv6_text_is_the_ipaddress_form(address):
    from providers.ip_facts import canonical_ips

    texts = _spellings(address)
    assert canonical_ips(texts) == {text: _reference_canonical_v6(text) for text in texts}


def test_canonical_ipv6_text_is_the_ipaddress_form_for_odd_spellings():
    import random

    from providers.ip_facts import canonical_ips

    rng = random.Random(5)
    texts = ["::", "::1", "::1.2.3.4", "::ffff:1.2.3.4", "::ffff:0102:0304", "fe80::1%eth0"]
    texts += [
        "1::2::3",
        "1:2:3:4:5:6:7:8:9",
        "12345::",
        ":1::",
        "1:2:3:4:5:6:7::",
        "::ffff:1.2.3.04",
    ]
    for _ in range(20_000):
        groups = [
            rng.choice(["0", "", "00000", "ffff", "FfFf", format(rng.getrandbits(16), "x")])
            for _ in range(rng.randint(1, 10))
        ]
        texts.append(rng.choice(["", "::"]) + ":".join(groups) + rng.choice(["", "::", ":"]))
    assert canonical_ips(texts) == {text: _reference_canonical_v6(text) for text in texts}
