"""pfx2as + AS-names import and the vectorised longest-prefix match."""

from __future__ import annotations

import gzip
import ipaddress
import random
import shutil

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from providers.addresses import to_signed
from providers.errors import ReferenceDataError
from providers.models import AsName, PrefixEntry, PrefixSource
from providers.prefix_import import refresh_prefix_table
from providers.prefix_table import PrefixTable, PrefixTableResolver, load_prefix_table
from tests.providers.test_providers_support import ASNAMES, PFX_V4, PFX_V6

TAIWAN = "Taiwan Fixed Network, Telco and Network Service Provider."


def _import(engine, **kwargs):
    return refresh_prefix_table(engine, str(PFX_V4), str(PFX_V6), str(ASNAMES), **kwargs)


def _count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(table.__table__))


def test_import_counts_every_line_and_reimport_changes_nothing(engine):
    first = _import(engine)
    assert (first["prefixes_v4"], first["prefixes_v6"], first["as_names"]) == (14, 9, 12)
    assert first["rejected"] == 0 and first["unchanged"] is False
    again = _import(engine)
    assert again["unchanged"] is True and again["version"] == first["version"]
    assert _count(engine, PrefixEntry) == 23 and _count(engine, PrefixSource) == 1


@pytest.mark.parametrize(
    ("ip", "prefix", "asn", "name", "country"),
    [
        ("93.171.200.1", "93.171.200.0/24", 262254, "DANCOM LTD", "BZ"),  # the nested /24 wins
        ("93.171.201.1", "93.171.200.0/22", 50245, "Serverel Inc.", "NL"),  # only the /22 covers it
        ("104.16.5.5", "104.16.0.0/20", 13335, "Cloudflare, Inc.", "US"),
        ("104.31.0.1", "104.16.0.0/12", 13335, "Cloudflare, Inc.", "US"),
        ("5.79.64.1", "5.79.64.0/18", 60781, "LeaseWeb Netherlands B.V.", "NL"),
        ("88.198.0.1", "88.198.0.0/16", 24940, "Hetzner Online GmbH", "DE"),
        ("2a01:4f8:c17::1", "2a01:4f8::/29", 24940, "Hetzner Online GmbH", "DE"),
        ("2606:4700::6810:1", "2606:4700::/44", 13335, "Cloudflare, Inc.", "US"),  # /44 inside /36
        ("2606:4700:f00::1", "2606:4700::/36", 13335, "Cloudflare, Inc.", "US"),
        ("2001:4541:900f::12", "2001:4541:900f::10/124", 9924, TAIWAN, "TW"),  # longer than /64
        ("2001:4541:900f::3", "2001:4541:900f::/124", 9924, TAIWAN, "TW"),
        ("2001:418::13:253", "2001:418::13:253/128", 3940, "NTT America, Inc.", "US"),
    ],
)
def test_longest_prefix_match_on_nested_prefixes(sqlite_engine, ip, prefix, asn, name, country):
    _import(sqlite_engine)
    result = PrefixTableResolver(sqlite_engine).resolve([ip])[ip]
    assert (result.prefix, result.asn, result.network, result.registered_country) == (
        prefix,
        asn,
        name,
        country,
    )


def test_addresses_outside_every_prefix_are_not_found(sqlite_engine):
    _import(sqlite_engine)
    assert (
        PrefixTableResolver(sqlite_engine).resolve(["9.9.9.9", "2001:418::13:254", "3000::1"]) == {}
    )


def test_multiple_origins_keep_the_first_as_and_name_all(sqlite_engine):
    _import(sqlite_engine)
    found = PrefixTableResolver(sqlite_engine).resolve(["1.2.4.8", "16.105.113.9"])
    assert (
        found["1.2.4.8"].asn == 24409
        and found["1.2.4.8"].detail == "multiple origins 24409_24151_24406"
    )
    assert (
        found["16.105.113.9"].asn == 71
        and found["16.105.113.9"].detail == "multiple origins 71,4445,7430,21302"
    )


def test_bad_lines_are_named_not_dropped_silently(sqlite_engine, tmp_path):
    good = PFX_V4.read_text()
    lines = good.splitlines()
    # One bad line among more than a hundred good ones stays under the 1 % refusal limit.
    body = "\n".join(lines * 10) + "\n10.0.0.1\t8\t64500\n"
    extra = "".join(f"{n}.0.0.0\t8\t{n}\n" for n in range(20, 120))
    path = tmp_path / "routeviews-rv2-20240301-1200.pfx2as.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(body + extra)
    summary = refresh_prefix_table(sqlite_engine, str(path), None, str(ASNAMES))
    assert summary["rejected"] == 1
    assert summary["errors"] == [
        {
            "file": path.name,
            "line": 141,
            "reason": "host bits set in prefix in '10.0.0.1\\t8\\t64500'",
        }
    ]
    assert (
        summary["version"].startswith("pfx2as-20240301-") and summary["data_date"] == "2024-03-01"
    )


def test_a_file_that_is_not_pfx2as_is_refused_and_nothing_imported(sqlite_engine, tmp_path):
    path = tmp_path / "not-pfx2as.txt"
    path.write_text("prefix,length,asn\n1.0.0.0,24,13335\n")
    with pytest.raises(
        ReferenceDataError,
        match="refusing the prefix table: 2 of 2 lines of not-pfx2as.txt are bad",
    ):
        refresh_prefix_table(sqlite_engine, str(path), None, str(ASNAMES))
    assert _count(sqlite_engine, PrefixSource) == 0 and _count(sqlite_engine, PrefixEntry) == 0


def test_missing_file_is_a_clear_error(sqlite_engine, tmp_path):
    with pytest.raises(ReferenceDataError, match="no such file"):
        refresh_prefix_table(sqlite_engine, str(tmp_path / "nope.gz"), None, str(ASNAMES))


def test_new_version_retires_the_old_one_and_drops_its_prefixes(engine, tmp_path):
    first = _import(engine)
    names = tmp_path / "asnames.csv"
    names.write_text(ASNAMES.read_text().replace("Hetzner Online GmbH", "Hetzner Online AG"))
    second = refresh_prefix_table(engine, str(PFX_V4), str(PFX_V6), str(names))
    assert second["version"] != first["version"] and second["retired_versions"] == 1
    with engine.connect() as connection:
        sources = connection.execute(
            sa.select(PrefixSource.__table__.c.version, PrefixSource.__table__.c.retired_at)
        ).all()
        kept = connection.scalar(
            sa.select(sa.func.count(sa.distinct(PrefixEntry.__table__.c.source_id)))
        )
    assert {version: retired is None for version, retired in sources} == {
        first["version"]: False,
        second["version"]: True,
    }
    assert kept == 1 and _count(engine, AsName) == 12
    result = PrefixTableResolver(engine).resolve(["88.198.0.1"])["88.198.0.1"]
    assert result.network == "Hetzner Online AG"


def test_import_from_urls_downloads_with_httpx(sqlite_engine):
    files = {
        "/routeviews/v4.gz": gzip.compress(PFX_V4.read_bytes()),
        "/routeviews/v6": PFX_V6.read_bytes(),
        "/routeviews/names.csv": ASNAMES.read_bytes(),
    }
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return (
            httpx.Response(200, content=files[request.url.path])
            if request.url.path in files
            else (httpx.Response(404))
        )

    client = httpx.Client(transport=httpx.MockTransport(handler))
    base = "https://publicdata.example/routeviews"
    summary = refresh_prefix_table(
        sqlite_engine,
        f"{base}/v4.gz?token=secret",
        f"{base}/v6",
        f"{base}/names.csv",
        client=client,
    )
    assert sorted(seen) == ["/routeviews/names.csv", "/routeviews/v4.gz", "/routeviews/v6"]
    assert (summary["prefixes_v4"], summary["prefixes_v6"]) == (14, 9)
    with sqlite_engine.connect() as connection:
        stored = connection.scalar(sa.select(PrefixSource.__table__.c.source_v4))
    assert stored == f"{base}/v4.gz"  # the query string (a token) is not kept
    with pytest.raises(ReferenceDataError, match="gone.gz: download failed: HTTP 404") as failure:
        refresh_prefix_table(
            sqlite_engine, f"{base}/gone.gz?token=secret", None, f"{base}/names.csv", client=client
        )
    assert "secret" not in str(failure.value)


def _brute_force(prefixes, address: int, width: int):
    best = None
    for row, (network, length) in enumerate(prefixes):
        if (address >> (width - length) if length else 0) == (
            network >> (width - length) if length else 0
        ):
            if best is None or length > prefixes[best][1]:
                best = row
    return -1 if best is None else best


def _table(prefixes, family):
    nets = [n for n, _ in prefixes]
    if family == 4:
        hi, lo = np.zeros(len(nets), dtype=np.int64), np.array(nets, dtype=np.int64)
    else:
        hi = to_signed(np.array([n >> 64 for n in nets], dtype=np.uint64))
        lo = to_signed(np.array([n & (2**64 - 1) for n in nets], dtype=np.uint64))
    return PrefixTable(
        np.full(len(nets), family),
        hi,
        lo,
        [length for _, length in prefixes],
        np.arange(len(nets)),
        {},
        "test",
    )


@st.composite
def _nested_prefixes(draw, width):
    """Random prefixes, many nested inside others, plus addresses near them."""
    prefixes = []
    for _ in range(draw(st.integers(1, 40))):
        if prefixes and draw(st.booleans()):
            parent, plen = draw(st.sampled_from(prefixes))
            length = draw(st.integers(plen, width))
            network = parent | (
                draw(st.integers(0, 2 ** (width - plen) - 1)) if length > plen else 0
            )
        else:
            length = draw(st.integers(0, width))
            network = draw(st.integers(0, 2**width - 1))
        network = (network >> (width - length)) << (width - length) if length < width else network
        if (network, length) not in prefixes:
            prefixes.append((network, length))
    addresses = [n | draw(st.integers(0, 2 ** (width - length) - 1)) for n, length in prefixes]
    addresses += draw(st.lists(st.integers(0, 2**width - 1), max_size=20))
    return prefixes, addresses


@settings(max_examples=150, deadline=None)
@given(_nested_prefixes(32))
def test_ipv4_match_equals_brute_force(case):
    prefixes, addresses = case
    found = _table(prefixes, 4).lookup_v4(np.array(addresses, dtype=np.uint64))
    assert found.tolist() == [_brute_force(prefixes, a, 32) for a in addresses]


@settings(max_examples=150, deadline=None)
@given(_nested_prefixes(128))
def test_ipv6_match_equals_brute_force(case):
    prefixes, addresses = case
    hi = np.array([a >> 64 for a in addresses], dtype=np.uint64)
    lo = np.array([a & (2**64 - 1) for a in addresses], dtype=np.uint64)
    found = _table(prefixes, 6).lookup_v6(hi, lo)
    assert found.tolist() == [_brute_force(prefixes, a, 128) for a in addresses]


@pytest.mark.shared
def test_real_routeviews_files_import_and_match_like_ipaddress(sqlite_engine, shared_dir):
    folder = shared_dir / "data" / "routeviews"
    summary = refresh_prefix_table(
        sqlite_engine,
        str(folder / "routeviews-ipv4.pfx2as.gz"),
        str(folder / "routeviews-ipv6.pfx2as.gz"),
        str(folder / "asnames.ipinfo.csv"),
    )
    assert (summary["prefixes_v4"], summary["prefixes_v6"]) == (845_161, 83_125)
    # The file lists AS137937 twice: reported, not silently dropped.
    assert summary["rejected"] == 1 and "AS137937 listed twice" in summary["errors"][0]["reason"]
    table, names = load_prefix_table(sqlite_engine)
    assert len(table) == 845_161 + 83_125 and names[60781][0] == "LeaseWeb Netherlands B.V."
    # An independent reference: every prefix of the real file in dictionaries keyed by length.
    by_length: dict[tuple[int, int], dict[int, str]] = {}
    for name in ("routeviews-ipv4.pfx2as.gz", "routeviews-ipv6.pfx2as.gz"):
        with gzip.open(folder / name, "rt") as handle:
            for line in handle:
                network, length, origin = line.split()
                net = ipaddress.ip_network(f"{network}/{length}")
                by_length.setdefault((net.version, net.prefixlen), {}).setdefault(
                    int(net.network_address), origin
                )
    rng = random.Random(7)
    v4 = [(k, n) for (v, n), d in by_length.items() if v == 4 for k in d]
    v6 = [(k, n) for (v, n), d in by_length.items() if v == 6 for k in d]
    samples = [
        str(ipaddress.IPv4Address(k | rng.getrandbits(32 - n) if n < 32 else k))
        for k, n in rng.sample(v4, 3000)
    ]
    samples += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(2000)]
    samples += [
        str(ipaddress.IPv6Address(k | rng.getrandbits(128 - n) if n < 128 else k))
        for k, n in rng.sample(v6, 2000)
    ]
    found = PrefixTableResolver(sqlite_engine).resolve(samples)
    for ip in samples:
        address = ipaddress.ip_address(ip)
        expected = None
        for length in range(address.max_prefixlen, -1, -1):
            key = (
                int(address) >> (address.max_prefixlen - length) << (address.max_prefixlen - length)
            )
            origin = by_length.get((address.version, length), {}).get(key)
            if origin is not None:
                expected = (
                    str(ipaddress.ip_network((key, length))),
                    int(origin.replace(",", "_").split("_")[0]),
                )
                break
        got = found.get(ip)
        assert (got.prefix, got.asn) == expected if expected else got is None, ip


def test_loaded_table_is_cached_per_version(sqlite_engine, tmp_path):
    _import(sqlite_engine)
    first = load_prefix_table(sqlite_engine)
    assert load_prefix_table(sqlite_engine) is first
    copy = tmp_path / "v4-copy.pfx2as"
    shutil.copy(PFX_V4, copy)
    copy.write_text(PFX_V4.read_text() + "198.51.100.0\t24\t64500\n")
    refresh_prefix_table(sqlite_engine, str(copy), None, str(ASNAMES))
    second = load_prefix_table(sqlite_engine)
    assert second is not first and second[0].version != first[0].version
