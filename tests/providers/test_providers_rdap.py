"""The online resolver: RDAP parsing of recorded answers, rate limit, retries, cache.

Never on the network: recorded responses are parsed offline, and the HTTP layer
is an httpx.MockTransport serving them.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from monitor.core.errors import ResolverUnavailable
from providers.models import IpResolution
from providers.rdap import RateLimiter, RdapResolver, parse_rdap, registry_of
from providers.resolve import resolve_pending
from tests.providers.test_providers_support import RDAP_EXCERPT, add_tickets, tickets

RECORDED = json.loads(RDAP_EXCERPT.read_text())


def _check_against_raw(ip: str, entry: dict) -> None:
    """The parsed result agrees with the raw RDAP JSON and the recorded ASN data."""
    response, asn_data = entry["response"], entry["asn_data"]
    result = parse_rdap(ip, response, asn_data)
    assert result.found
    assert result.network == " ".join(response["name"].split())
    assert result.registered_country == (response.get("country") or asn_data["asn_country_code"])
    assert result.rir == asn_data["asn_registry"]
    assert result.asn == (int(asn_data["asn"]) if asn_data["asn"].isdigit() else None)
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(result.prefix)
    if asn_data["asn_cidr"] != "NA":
        assert result.prefix == ipaddress.ip_network(asn_data["asn_cidr"]).compressed
    assert result.detail == f"RDAP {response['handle']}"


@pytest.mark.parametrize("ip", sorted(RECORDED))
def test_recorded_rdap_excerpt_parses(ip):
    _check_against_raw(ip, RECORDED[ip])


@pytest.mark.shared
def test_every_recorded_rdap_response_parses(shared_dir):
    recorded = json.loads((shared_dir / "data" / "rdap" / "ipwhois_rdap.json").read_text())
    assert len(recorded) == 10
    for ip, entry in recorded.items():
        _check_against_raw(ip, entry)


def test_specific_recorded_answers():
    bt = parse_rdap("62.239.237.1", **RECORDED["62.239.237.1"])
    assert (bt.asn, bt.network, bt.prefix, bt.registered_country, bt.rir) == (
        2856,
        "BT-CORPORATE",
        "62.239.0.0/16",
        "GB",
        "ripencc",
    )
    # ARIN's network object has no country: the AS registration country is used.
    google = parse_rdap("74.125.225.229", **RECORDED["74.125.225.229"])
    assert (google.asn, google.registered_country, google.rir) == (15169, "US", "arin")
    # LACNIC answer with no AS ('NA'): the RDAP network's own CIDR is the prefix.
    lacnic = parse_rdap("2801:10:c000::", **RECORDED["2801:10:c000::"])
    assert (lacnic.asn, lacnic.prefix, lacnic.registered_country) == (
        None,
        "2801:10:c000::/128",
        "CO",
    )


def test_registry_from_port43_or_answering_host():
    assert registry_of({"port43": "whois.ripe.net"}) == "ripencc"
    assert registry_of({}, "https://rdap.apnic.net/ip/1.1.1.1") == "apnic"
    assert registry_of({}, "https://example.net/ip/1.1.1.1") is None


class FakeTime:
    """A clock that only moves when the code sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Registry:
    """A fake RDAP bootstrap + RIR + RIPEstat, serving the recorded answers."""

    RIR_HOSTS = {
        "ripencc": "rdap.db.ripe.net",
        "arin": "rdap.arin.net",
        "lacnic": "rdap.lacnic.net",
        "afrinic": "rdap.afrinic.net",
        "apnic": "rdap.apnic.net",
    }

    def __init__(self, time: FakeTime, failures: dict[str, list[httpx.Response]] | None = None):
        self.time = time
        self.failures = failures or {}
        self.requests: list[tuple[float, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((self.time.now, str(request.url)))
        queue = self.failures.get(request.url.host)
        if queue:
            return queue.pop(0)
        if request.url.host == "rdap.org":
            ip = request.url.path.rsplit("/", 1)[-1]
            if ip not in RECORDED:
                return httpx.Response(404)
            host = self.RIR_HOSTS[RECORDED[ip]["asn_data"]["asn_registry"]]
            return httpx.Response(302, headers={"Location": f"https://{host}/ip/{ip}"})
        if request.url.host in self.RIR_HOSTS.values():
            return httpx.Response(
                200, json=RECORDED[request.url.path.rsplit("/", 1)[-1]]["response"]
            )
        if request.url.host == "stat.ripe.net":
            data = RECORDED[request.url.params["resource"]]["asn_data"]
            asns = [data["asn"]] if data["asn"].isdigit() else []
            return httpx.Response(200, json={"data": {"asns": asns, "prefix": data["asn_cidr"]}})
        raise AssertionError(f"unexpected request {request.url}")


def _resolver(registry: Registry, time: FakeTime, **options) -> RdapResolver:
    options.setdefault("per_second", 0)
    return RdapResolver(
        transport=httpx.MockTransport(registry), sleep=time.sleep, clock=time.clock, **options
    )


def test_resolver_follows_bootstrap_redirect_and_parses():
    time = FakeTime()
    registry = Registry(time)
    found = _resolver(registry, time).resolve(["62.239.237.1", "203.0.113.99"])
    assert (found["62.239.237.1"].asn, found["62.239.237.1"].rir) == (2856, "ripencc")
    assert found["203.0.113.99"].status == "not_found"  # 404 from the bootstrap
    hosts = [urlhost for _, urlhost in registry.requests]
    assert hosts[:3] == [
        "https://rdap.org/ip/62.239.237.1",
        "https://rdap.db.ripe.net/ip/62.239.237.1",
        "https://stat.ripe.net/data/network-info/data.json?resource=62.239.237.1",
    ]


def test_rate_limit_spaces_requests():
    time = FakeTime()
    registry = Registry(time)
    resolver = _resolver(registry, time, per_second=2)
    resolver.resolve(["62.239.237.1", "74.125.225.229", "196.11.240.215"])
    # Two requests per address (RDAP, then the origin AS), at most two per second.
    assert resolver.requests == 6
    assert time.sleeps == [0.5] * 5
    starts = sorted(
        {at for at, url in registry.requests if "rdap.org" in url or "stat.ripe" in url}
    )
    assert all(b - a >= 0.5 for a, b in zip(starts, starts[1:], strict=False))


def test_rate_limiter_does_not_sleep_when_requests_are_slow_anyway():
    time = FakeTime()
    limiter = RateLimiter(1.0, clock=time.clock, sleep=time.sleep)
    limiter.wait()
    time.now += 5
    limiter.wait()
    assert time.sleeps == []


def test_retry_after_is_honoured_on_429():
    time = FakeTime()
    registry = Registry(time, {"rdap.org": [httpx.Response(429, headers={"Retry-After": "7"})]})
    found = _resolver(registry, time).resolve(["62.239.237.1"])
    assert found["62.239.237.1"].asn == 2856
    assert time.sleeps == [7.0]


def test_server_errors_are_retried_with_backoff_then_given_up():
    time = FakeTime()
    registry = Registry(time, {"rdap.org": [httpx.Response(503)] * 4})
    resolver = _resolver(registry, time, retries=3, backoff=2.0)
    found = resolver.resolve(["62.239.237.1"])
    assert found["62.239.237.1"].status == "error"
    assert time.sleeps == [2.0, 4.0, 8.0]
    assert resolver.unavailable is None  # one failure does not condemn the service


def test_transport_errors_are_retried():
    time = FakeTime()
    calls = []

    def flaky(request):
        calls.append(request.url.host)
        if len(calls) == 1:
            raise httpx.ConnectTimeout("timed out", request=request)
        return Registry(time)(request)

    resolver = RdapResolver(
        transport=httpx.MockTransport(flaky), per_second=0, sleep=time.sleep, clock=time.clock
    )
    assert resolver.resolve(["62.239.237.1"])["62.239.237.1"].asn == 2856
    assert time.sleeps == [2.0]


def test_consecutive_failures_make_the_resolver_give_up():
    time = FakeTime()
    registry = Registry(time, {"rdap.org": [httpx.Response(500)] * 100})
    resolver = _resolver(registry, time, retries=0, max_consecutive_failures=2)
    found = resolver.resolve(["62.239.237.1", "74.125.225.229", "196.11.240.215"])
    assert [r.status for r in found.values()] == ["error", "error", "error"]
    assert len(registry.requests) == 2  # the third address is not even tried
    assert (
        "2 lookups in a row failed (last: HTTP 500 from rdap.org after 1 attempts)"
        == resolver.unavailable
    )


class Clock:
    def __init__(self, start: datetime):
        self.value = start

    def __call__(self) -> datetime:
        return self.value


def _rdap_rows(engine) -> list[tuple]:
    table = IpResolution.__table__
    with engine.connect() as connection:
        return connection.execute(
            sa.select(table.c.ip, table.c.data_version, table.c.asn)
            .where(table.c.source == "rdap")
            .order_by(table.c.id)
        ).all()


def test_online_answers_are_cached_for_their_ttl_and_history_is_kept(engine):
    time = FakeTime()
    registry = Registry(time)
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    clock = Clock(start)
    resolver = _resolver(registry, time, ttl=timedelta(days=30), now=clock)
    add_tickets(engine, [{"ticket_id": "1", "ip": "62.239.237.1"}])
    first = resolve_pending(engine, online=True, rdap=resolver, now=start)
    assert first["lookups"]["rdap"] == 1 and len(registry.requests) == 3
    assert tickets(engine)["1"]["asn"] == 2856

    add_tickets(engine, [{"ticket_id": "2", "ip": "62.239.237.1"}])
    clock.value = start + timedelta(days=10)
    second = resolve_pending(engine, online=True, rdap=resolver, now=clock.value)
    assert second["reused"]["rdap"] == 1 and len(registry.requests) == 3  # served from the cache

    add_tickets(engine, [{"ticket_id": "3", "ip": "62.239.237.1"}])
    clock.value = start + timedelta(days=31)
    third = resolve_pending(engine, online=True, rdap=resolver, now=clock.value)
    assert third["lookups"]["rdap"] == 1 and len(registry.requests) == 6  # expired: fetched again
    assert _rdap_rows(engine) == [
        ("62.239.237.1", "rdap@2026-03-01T12:00:00Z", 2856),
        ("62.239.237.1", "rdap@2026-04-01T12:00:00Z", 2856),
    ]
    assert tickets(engine)["1"]["resolution_sources"].startswith(
        "country=geo rdap@2026-03-01T12:00:00Z geoip2fast-"
    )


def test_an_unavailable_registry_leaves_the_chunk_pending(sqlite_engine):
    time = FakeTime()
    registry = Registry(time, {"rdap.org": [httpx.Response(503)] * 100})
    resolver = _resolver(registry, time, retries=1, max_consecutive_failures=2)
    add_tickets(sqlite_engine, [{"ticket_id": str(n), "ip": ip} for n, ip in enumerate(RECORDED)])
    with pytest.raises(
        ResolverUnavailable,
        match="online resolver gave up: 2 lookups in a row failed .*"
        "no ticket was resolved, 4 stay pending",
    ):
        resolve_pending(sqlite_engine, online=True, rdap=resolver)
    assert all(t["resolved_at"] is None for t in tickets(sqlite_engine).values())
    assert _rdap_rows(sqlite_engine) == []  # failures are not cached


def test_one_failed_address_is_resolved_offline_and_says_so(sqlite_engine):
    time = FakeTime()
    registry = Registry(time, {"rdap.org": [httpx.Response(503)] * 2})
    resolver = _resolver(registry, time, retries=1, max_consecutive_failures=3)
    add_tickets(
        sqlite_engine,
        [{"ticket_id": "1", "ip": "62.239.237.1"}, {"ticket_id": "2", "ip": "74.125.225.229"}],
    )
    summary = resolve_pending(sqlite_engine, online=True, rdap=resolver)
    assert summary["online_failed"] == 1 and summary["resolved"] == 2
    resolved = tickets(sqlite_engine)
    assert "rdap=failed" in resolved["1"]["resolution_sources"] and resolved["1"]["country"] == "GB"
    assert resolved["2"]["asn"] == 15169
