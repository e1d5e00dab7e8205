"""Provider size: announced IPv4 addresses with overlaps counted once, and analyst figures."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime

import numpy as np
import pytest

from monitor.core.errors import ConfigurationError
from providers.address_space import (
    address_space,
    import_sizes,
    provider_sizes,
    union_sizes,
)
from providers.prefix_import import refresh_prefix_table
from providers.registry import add_alias


def _space(prefixes: list[tuple[str, int]], names: dict[int, str] | None = None):
    nets, lengths, asns = [], [], []
    for text, asn in prefixes:
        network = ipaddress.IPv4Network(text)
        nets.append(int(network.network_address))
        lengths.append(network.prefixlen)
        asns.append(asn)
    return address_space(asns, nets, lengths, names or {}, "v-test", None)


@pytest.mark.parametrize(
    ("prefixes", "expected"),
    [
        # /8 holds the /16 and the /15: only the /8 counts.
        (["10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/15"], 16_777_216),
        # nested three deep, listed in any order
        (["192.168.1.0/24", "192.168.0.0/16", "192.168.1.128/25"], 65_536),
        # adjacent /24s: 512, no gap, no double count
        (["198.51.100.0/24", "198.51.101.0/24"], 512),
        # disjoint with a partly covered pair: /23 + /24 inside + separate /24
        (["203.0.112.0/23", "203.0.113.0/24", "203.0.120.0/24"], 768),
        # the same prefix twice
        (["192.0.2.0/24", "192.0.2.0/24"], 256),
        # a /32 and the whole address space
        (["1.2.3.4/32"], 1),
        (["0.0.0.0/0", "8.8.8.0/24"], 4_294_967_296),
    ],
)
def test_one_as_counts_overlapping_prefixes_once(prefixes, expected):
    space = _space([(prefix, 64500) for prefix in prefixes])
    assert space.size_of_asn(64500) == expected


def test_ases_are_counted_apart_and_a_provider_sums_its_ases():
    space = _space(
        [
            ("10.0.0.0/8", 64500),
            ("10.1.0.0/16", 64500),
            ("10.2.0.0/15", 64500),
            ("10.0.0.0/16", 64501),  # inside AS64500's /8: counted once for the provider
            ("172.16.0.0/12", 64501),
            ("192.0.2.0/24", 64502),
        ]
    )
    assert space.size_of_asn(64500) == 16_777_216
    assert space.size_of_asn(64501) == 65_536 + 1_048_576
    assert space.size_of_asn(64502) == 256
    assert space.size_of_asn(64999) is None
    sizes = space.sum_of({"Big Host": {64500, 64501}, "Small": {64502, 64999}, "None": {1}})
    # summed per AS: AS64501's 10.0.0.0/16 lies inside AS64500's /8 and counts in both
    assert sizes == {"Big Host": 16_777_216 + 65_536 + 1_048_576, "Small": 256, "None": 0}


def test_union_matches_a_set_of_addresses_on_random_prefixes():
    rng = random.Random(7)
    groups, starts, ends, truth = [], [], [], [set(), set(), set()]
    for _ in range(300):
        group = rng.randrange(3)
        length = rng.randrange(22, 33)
        start = (rng.randrange(1 << 14) << 10) & ~((1 << (32 - length)) - 1)
        groups.append(group)
        starts.append(start)
        ends.append(start + (1 << (32 - length)))
        truth[group].update(range(start, start + (1 << (32 - length))))
    sizes = union_sizes(np.array(groups), np.array(starts), np.array(ends), 3)
    assert sizes.tolist() == [len(addresses) for addresses in truth]


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _import_table(engine, tmp_path):
    v4 = _write(
        tmp_path / "routeviews-rv2-20260101-1200.pfx2as",
        "10.0.0.0\t8\t64500\n10.1.0.0\t16\t64500\n10.2.0.0\t15\t64500\n"
        "10.0.0.0\t16\t64501\n172.16.0.0\t12\t64501\n192.0.2.0\t24\t64502\n"
        "198.51.100.0\t24\t64503_64504\n",
    )
    names = _write(
        tmp_path / "asnames.csv",
        "asn,name,country,registry\n64500,Big Host B.V.,NL,ripencc\n"
        "64501,Big Host B.V.,NL,ripencc\n64502,Small Hosting Ltd,GB,ripencc\n"
        "64503,Moas One,US,arin\n",
    )
    return refresh_prefix_table(engine, v4, None, names)


def test_provider_and_network_sizes_come_from_the_active_table(engine, tmp_path):
    summary = _import_table(engine, tmp_path)
    add_alias(engine, "Big Host B.V.", "Big Host")
    sizes = provider_sizes(engine)
    assert sizes["data_version"] == summary["version"]
    assert sizes["data_date"] == "2026-01-01"
    assert sizes["providers"]["Big Host"] == {
        "addresses": 16_777_216 + 65_536 + 1_048_576,
        "basis": summary["version"],
        "asns": [64500, 64501],
    }
    assert sizes["networks"]["Big Host B.V."]["addresses"] == 16_777_216 + 65_536 + 1_048_576
    assert sizes["networks"]["Small Hosting Ltd"]["addresses"] == 256
    # a multi-origin prefix counts for its first AS, as the resolver attributes it
    assert sizes["space"].size_of_asn(64503) == 256
    assert sizes["space"].size_of_asn(64504) is None


def test_per_as_sizes_are_computed_once_per_data_version(engine, tmp_path):
    import sqlalchemy as sa

    from providers.address_space import AS_SIZE, load_address_space

    def stored():
        with engine.connect() as connection:
            return connection.execute(
                sa.select(AS_SIZE.c.asn, AS_SIZE.c.addresses).order_by(AS_SIZE.c.asn)
            ).all()

    first = _import_table(engine, tmp_path)
    assert stored() == []
    load_address_space(engine)
    assert [tuple(row) for row in stored()] == [
        (64500, 16_777_216),
        (64501, 1_114_112),
        (64502, 256),
        (64503, 256),
    ]
    with engine.begin() as connection:  # a later read takes the stored figures
        connection.execute(AS_SIZE.update().where(AS_SIZE.c.asn == 64502).values(addresses=1))
    assert load_address_space(engine).size_of_asn(64502) == 1
    # a new data version is computed afresh and the retired version's rows go
    v4 = tmp_path / "routeviews-rv2-20260201-1200.pfx2as"
    v4.write_text("192.0.2.0\t24\t64502\n192.0.2.0\t25\t64502\n", encoding="utf-8")
    second = refresh_prefix_table(engine, str(v4), None, str(tmp_path / "asnames.csv"))
    assert second["version"] != first["version"]
    assert load_address_space(engine).size_of_asn(64502) == 256
    assert [tuple(row) for row in stored()] == [(64502, 256)]


def test_an_analyst_figure_replaces_the_computed_one(engine, tmp_path):
    _import_table(engine, tmp_path)
    add_alias(engine, "Big Host B.V.", "Big Host")
    csv_path = tmp_path / "sizes.csv"
    csv_path.write_text(
        "provider,addresses,source\nbig host b.v.,40000,annual report 2025\n"
        "Reseller One,1024,contract\n",
        encoding="utf-8",
    )
    summary = import_sizes(engine, csv_path, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert summary == {"batch": 1, "imported": 2, "providers": ["Big Host", "Reseller One"]}
    sizes = provider_sizes(engine)["providers"]
    assert sizes["Big Host"]["addresses"] == 40_000
    assert sizes["Big Host"]["basis"] == "analyst"
    assert sizes["Big Host"]["source"] == "annual report 2025"
    assert sizes["Reseller One"]["addresses"] == 1024
    # a newer batch wins
    csv_path.write_text("provider,addresses\nReseller One,2048\n", encoding="utf-8")
    assert import_sizes(engine, csv_path)["batch"] == 2
    assert provider_sizes(engine)["providers"]["Reseller One"]["addresses"] == 2048


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,size\nA,1\n", "sizes.csv: expected a header provider,addresses[,source]"),
        (
            "provider,addresses\nA,0\nB,lots\n",
            "sizes.csv: nothing imported: line 2: addresses must be a whole number from 1 to "
            "2**32; line 3: addresses must be a whole number from 1 to 2**32",
        ),
        (
            "provider,addresses\nunknown,5\n",
            "sizes.csv: nothing imported: line 2: not a usable provider name",
        ),
    ],
)
def test_a_bad_size_file_is_refused_whole(engine, tmp_path, text, message):
    path = tmp_path / "sizes.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        import_sizes(engine, path)
    assert str(caught.value) == message
    assert provider_sizes(engine)["providers"] == {}


def test_sizes_without_a_prefix_table_are_unknown(engine):
    sizes = provider_sizes(engine)
    assert sizes["data_version"] is None and sizes["providers"] == {}


def test_size_commands(cli, tmp_path):
    path = tmp_path / "sizes.csv"
    path.write_text("provider,addresses,source\nSome Host,4096,contract\n", encoding="utf-8")
    result = cli("providers", "size", "import", path, "--json")
    assert '"imported": 1' in result.output
    listed = cli("providers", "size", "list", "--json").output
    assert '"provider": "Some Host"' in listed and '"addresses": 4096' in listed
    assert '"basis": "analyst"' in listed
    bad = tmp_path / "bad.csv"
    bad.write_text("provider,addresses\nX,-5\n", encoding="utf-8")
    refused = cli("providers", "size", "import", bad, ok=False)
    assert refused.exit_code == 2
    assert (
        "error: bad.csv: nothing imported: line 2: addresses must be a whole number from 1 to 2**32"
        in refused.output
    )
