"""Online resolver (`--online`): RDAP registration data and the BGP origin AS, over HTTP.

Two requests per IP, both through one httpx client (tests swap its transport):
- the origin AS and announced prefix from RIPEstat's `network-info` (global BGP view);
- the RDAP network object through the RDAP bootstrap, which redirects to the
  right registry; it is parsed with ipwhois (`RDAP.lookup(response=..., asn_data=...)`)
  without any further query.

Requests are rate-limited (a minimum interval), retried with exponential backoff
on timeouts, 429 and 5xx (honouring Retry-After), and results are cached in
`ip_resolution` for `ttl` (the resolution stage reuses a stored answer younger
than that). After `max_consecutive_failures` failed IPs the resolver stops and
says so (`unavailable`), instead of hammering a registry that is down.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx

from monitor.core.redaction import redact_text
from monitor.core.timeutil import iso, utcnow
from providers.results import NOT_FOUND, STATUS_OK, IpResult, clean_country

log = logging.getLogger(__name__)
NAME = "rdap"
STATUS_ERROR = "error"
BOOTSTRAP_URL = "https://rdap.org/ip/{ip}"
ASN_URL = "https://stat.ripe.net/data/network-info/data.json?resource={ip}"
RETRY_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 300.0
_PORT43 = {
    "whois.arin.net": "arin",
    "whois.ripe.net": "ripencc",
    "whois.apnic.net": "apnic",
    "whois.lacnic.net": "lacnic",
    "whois.afrinic.net": "afrinic",
}
_RDAP_HOSTS = {
    "rdap.arin.net": "arin",
    "rdap.db.ripe.net": "ripencc",
    "rdap.apnic.net": "apnic",
    "rdap.lacnic.net": "lacnic",
    "rdap.afrinic.net": "afrinic",
}
ERROR = IpResult(status=STATUS_ERROR)


class RateLimiter:
    """At most `per_second` requests per second (a minimum interval between request starts)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = None

    def wait(self) -> None:
        """Block until the next request may start."""
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + self.interval


def registry_of(response: dict, url: str | None = None) -> str | None:
    """The RIR that answered an RDAP query (from `port43`, else the answering host)."""
    port43 = str(response.get("port43") or "").lower()
    if port43 in _PORT43:
        return _PORT43[port43]
    host = urlsplit(url).hostname if url else None
    return _RDAP_HOSTS.get(host or "")


def _prefix_containing(ip: str, cidrs: str | None) -> str | None:
    """The CIDR of a comma-separated list that contains `ip` (ipwhois joins several)."""
    if not cidrs:
        return None
    address = ipaddress.ip_address(ip)
    for text in cidrs.split(","):
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        if address.version == network.version and address in network:
            return network.compressed
    return None


def parse_rdap(ip: str, response: dict, asn_data: dict) -> IpResult:
    """Turn an RDAP IP response plus ipwhois-style ASN data into a result, offline.

    `asn_data` has ipwhois's keys (`asn`, `asn_cidr`, `asn_country_code`,
    `asn_registry`); 'NA' or blanks mean unknown.
    """
    from ipwhois.net import Net
    from ipwhois.rdap import RDAP

    registry = asn_data.get("asn_registry") or None
    parsed = RDAP(Net(ip)).lookup(
        response=response,
        asn_data={**asn_data, "asn_registry": registry},
        bootstrap=registry is None,
        root_ent_check=False,
        depth=0,
        inc_raw=False,
    )
    network = parsed.get("network") or {}
    asn_text = str(asn_data.get("asn") or "").split()[0] if asn_data.get("asn") else ""
    asn = int(asn_text) if asn_text.isdigit() else None
    asn_cidr = asn_data.get("asn_cidr")
    prefix = _prefix_containing(ip, asn_cidr if asn_cidr and asn_cidr != "NA" else None)
    prefix = prefix or _prefix_containing(ip, network.get("cidr"))
    name = " ".join(str(network.get("name") or "").split())[:255] or None
    handle = str(network.get("handle") or "").strip()
    return IpResult(
        status=STATUS_OK,
        asn=asn,
        network=name,
        prefix=prefix,
        registered_country=clean_country(network.get("country"))
        or clean_country(asn_data.get("asn_country_code")),
        rir=registry or registry_of(response),
        detail=f"RDAP {handle}"[:255] if handle else None,
    )


class RdapResolver:
    """AS number, prefix, registry, registered country and network name, fetched online."""

    name = NAME

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        per_second: float = 1.0,
        retries: int = 3,
        backoff: float = 2.0,
        ttl: timedelta = timedelta(days=30),
        max_consecutive_failures: int = 5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utcnow,
        bootstrap_url: str = BOOTSTRAP_URL,
        asn_url: str = ASN_URL,
    ):
        """`transport` (or a whole `client`) replaces the network: httpx.MockTransport in tests."""
        self.client = client or httpx.Client(
            transport=transport,
            timeout=20,
            follow_redirects=True,
            headers={
                "Accept": "application/rdap+json, application/json",
                "User-Agent": "takedown-monitor (hosting resolution)",
            },
        )
        self.ttl = ttl
        self.retries, self.backoff = retries, backoff
        self.max_consecutive_failures = max_consecutive_failures
        self.sleep, self.now = sleep, now
        self.limiter = RateLimiter(per_second, clock=clock, sleep=sleep)
        self.bootstrap_url, self.asn_url = bootstrap_url, asn_url
        self.unavailable: str | None = None
        self.requests = 0

    def data_version(self) -> str | None:
        """`rdap@<fetch time>`: an online answer is versioned by when it was fetched."""
        return f"rdap@{iso(self.now().replace(microsecond=0))}"

    def resolve(self, ips: Sequence[str]) -> dict[str, IpResult]:
        """One result per IP: found, NOT_FOUND (registry has no object) or ERROR (kept failing)."""
        results: dict[str, IpResult] = {}
        failures = 0
        for ip in ips:
            if self.unavailable:
                results[ip] = ERROR
                continue
            try:
                results[ip] = self._lookup(ip)
                failures = 0
            except _Failed as exc:
                reason = redact_text(str(exc))
                log.warning("online lookup failed for one address: %s", reason)
                results[ip] = ERROR
                failures += 1
                if failures >= self.max_consecutive_failures:
                    self.unavailable = f"{failures} lookups in a row failed (last: {reason})"
        return results

    def _lookup(self, ip: str) -> IpResult:
        rdap, rdap_url = self._get_json(self.bootstrap_url.format(ip=ip))
        if rdap is None:
            return NOT_FOUND
        origin, _ = self._get_json(self.asn_url.format(ip=ip))
        data = (origin or {}).get("data") or {}
        asns = [str(a) for a in data.get("asns") or [] if str(a).isdigit()]
        asn_data = {
            "asn": asns[0] if asns else None,
            "asn_cidr": data.get("prefix"),
            "asn_registry": registry_of(rdap, rdap_url),
            "asn_country_code": None,
        }
        try:
            return parse_rdap(ip, rdap, asn_data)
        except Exception as exc:  # noqa: BLE001 - an odd registry answer must not stop the run
            raise _Failed(
                f"unreadable RDAP answer from {urlsplit(rdap_url).hostname}: {exc}"
            ) from exc

    def _get_json(self, url: str) -> tuple[dict | None, str]:
        """JSON body and final URL; None for 404. Retries, then raises _Failed."""
        attempt = 0
        while True:
            self.limiter.wait()
            self.requests += 1
            delay = self.backoff * (2**attempt)
            try:
                response = self.client.get(url)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__} from {urlsplit(url).hostname}"
            else:
                if response.status_code == 404:
                    return None, str(response.url)
                if response.status_code < 400:
                    try:
                        return response.json(), str(response.url)
                    except ValueError as exc:
                        raise _Failed(f"{urlsplit(url).hostname} answered non-JSON") from exc
                problem = f"HTTP {response.status_code} from {urlsplit(url).hostname}"
                if response.status_code not in RETRY_STATUS:
                    raise _Failed(problem)
                delay = _retry_after(response.headers.get("Retry-After"), delay)
            if attempt >= self.retries:
                raise _Failed(f"{problem} after {attempt + 1} attempts")
            attempt += 1
            self.sleep(delay)


def _retry_after(header: str | None, default: float) -> float:
    if header and header.strip().isdigit():
        return min(float(header.strip()), MAX_RETRY_AFTER)
    return default


class _Failed(Exception):
    """One lookup failed after its retries (message names the host and the status)."""
