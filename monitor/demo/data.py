"""A realistic, generated hotline export for `monitor demo` and the benchmarks.

Real hosting prefixes (checked against geoip2fast's bundled data) with invented
tickets: every URL hash is the hash of a made-up string, no real report is in here.
Providers differ in how fast they remove content; a reseller moves its hosting
from a Dutch upstream to one in the UAE half-way, and some URLs are re-hosted
outside the EU, so the demo has something for drift to find.
"""

from __future__ import annotations

import csv
import hashlib
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from monitor.ingest.validate import INPUT_COLUMNS

HEADER = list(INPUT_COLUMNS)  # the contract's columns, in its order


@dataclass(frozen=True)
class DemoProvider:
    """A hosting provider as the demo simulates it."""

    stated: str  # what the hotline writes in `provider` ("" when it could not tell)
    prefix: str
    country: str
    weight: float
    median_hours: float  # median notice-to-removal time of the removals
    never_share: float  # share of notices never acted upon
    sigma: float = 1.0


PROVIDERS = (
    DemoProvider("LeaseWeb Netherlands B.V.", "5.79.64.0/18", "NL", 14, 7.0, 0.00),
    DemoProvider("NForce Entertainment B.V.", "185.107.56.0/22", "NL", 10, 20.0, 0.01),
    DemoProvider("WorldStream B.V.", "212.8.242.0/23", "NL", 9, 30.0, 0.02),
    DemoProvider("OVH SAS", "51.38.0.0/16", "FR", 12, 60.0, 0.03),
    DemoProvider("Hetzner Online GmbH", "88.198.0.0/16", "DE", 9, 14.0, 0.01),
    DemoProvider("Neterra Ltd.", "31.13.195.0/24", "BG", 4, 48.0, 0.05),
    DemoProvider("Infium, UAB", "193.106.28.0/22", "LT", 5, 110.0, 0.10),
    DemoProvider("DigitalOcean, LLC", "167.99.0.0/16", "US", 7, 28.0, 0.02),
    DemoProvider("IQWeb FZ-LLC", "190.115.16.0/22", "AE", 6, 420.0, 0.40, 1.2),
    DemoProvider(
        "High Family Technology Co., Limited", "103.97.176.0/22", "HK", 4, 300.0, 0.30, 1.2
    ),
    DemoProvider("Stark Industries Solutions Ltd", "45.142.212.0/22", "MD", 3, 200.0, 0.25),
    DemoProvider("", "104.16.0.0/13", "", 5, 70.0, 0.08),  # behind Cloudflare: origin unknown
    DemoProvider("Small Host B.V.", "195.123.216.0/21", "NL", 0.05, 10.0, 0.0),  # low volume
)
RESELLER = "Example Reseller Ltd"
RESELLER_BEFORE = PROVIDERS[0]  # LeaseWeb NL upstream, then ...
RESELLER_AFTER = PROVIDERS[8]  # ... IQWeb AE upstream
RESELLER_WEIGHT = 6.0
RESELLER_MOVED_BEFORE_NOW = timedelta(days=25)


def quarter_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of the quarter containing `moment`."""
    return datetime(moment.year, 3 * ((moment.month - 1) // 3) + 1, 1, tzinfo=UTC)


def previous_quarter_start(start: datetime) -> datetime:
    """The first day of the quarter before the one starting at `start`."""
    month = start.month - 3
    return datetime(start.year - (month < 1), (month - 1) % 12 + 1, 1, tzinfo=UTC)


def demo_window(now: datetime) -> tuple[datetime, datetime]:
    """Two full quarters before the current one, and the current quarter up to `now`."""
    current = quarter_start(now)
    return previous_quarter_start(previous_quarter_start(current)), now


def _iso(seconds: np.ndarray) -> list[str]:
    return [datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in seconds]


def _random_hosts(prefix: str, count: int, rng: np.random.Generator) -> list[str]:
    network = ipaddress.ip_network(prefix)
    base = int(network.network_address)
    offsets = rng.integers(1, network.num_addresses - 1, size=count)
    return [str(ipaddress.ip_address(base + int(o))) for o in offsets]


def generate_rows(
    tickets: int, seed: int, now: datetime, start: datetime | None = None
) -> Iterator[dict]:
    """Yield `tickets` export rows (dicts of HEADER columns) reported between start and now."""
    rng = np.random.default_rng(seed)
    start = start or demo_window(now)[0]
    t0, t1 = start.timestamp(), (now - timedelta(hours=6)).timestamp()
    moved = max(
        t0 + (t1 - t0) * 0.5, (now - RESELLER_MOVED_BEFORE_NOW).timestamp()
    )  # the reseller's move
    weights = np.array([p.weight for p in PROVIDERS] + [RESELLER_WEIGHT])
    choice = rng.choice(len(weights), size=tickets, p=weights / weights.sum())
    reported = np.sort(rng.uniform(t0, t1, size=tickets))
    notice_delay = rng.lognormal(np.log(1.5 * 3600), 0.8, size=tickets)
    notified = np.minimum(
        reported + notice_delay, now.timestamp() - 60
    )  # a notice is never in the future
    ips, stated, country, hosted_in = [], [], [], []
    medians = np.empty(tickets)
    never = np.empty(tickets)
    sigmas = np.empty(tickets)
    for i, k in enumerate(choice):
        if k == len(PROVIDERS):  # the reseller, before and after its move
            upstream = RESELLER_AFTER if reported[i] > moved else RESELLER_BEFORE
            stated.append(RESELLER)
        else:
            upstream = PROVIDERS[k]
            stated.append(upstream.stated)
        country.append(upstream.country if rng.random() < 0.3 else "")
        hosted_in.append(upstream.country)
        medians[i], never[i], sigmas[i] = (
            upstream.median_hours,
            upstream.never_share,
            upstream.sigma,
        )
        ips.append(upstream.prefix)
    hosts = {}
    for prefix in set(ips):
        members = [i for i, p in enumerate(ips) if p == prefix]
        for i, host in zip(members, _random_hosts(prefix, len(members), rng), strict=True):
            hosts[i] = host
    removal_hours = rng.lognormal(np.log(medians), sigmas)
    removed = notified + removal_hours * 3600
    never_removed = rng.random(tickets) < never
    before_notice = rng.random(tickets) < 0.01
    removed[before_notice] = (
        reported[before_notice]
        + rng.uniform(0.1, 0.9, before_notice.sum()) * notice_delay[before_notice]
    )
    now_s = now.timestamp()
    still_online = never_removed | (removed > now_s)
    checked = np.where(
        still_online, np.minimum(now_s - rng.uniform(1, 48, tickets) * 3600, now_s), np.nan
    )
    checked = np.where(checked < notified, np.nan, checked)
    reported_s, notified_s, removed_s = _iso(reported), _iso(notified), _iso(removed)
    checked_s = [
        ("" if np.isnan(c) else s)
        for c, s in zip(checked, _iso(np.nan_to_num(checked)), strict=True)
    ]
    relocated = _relocated_urls(rng, tickets, reported, moved, np.array(hosted_in))
    for i in range(tickets):
        host = f"h{rng.integers(1, 400)}.example.{('com', 'net', 'org')[i % 3]}" if i % 2 else ""
        yield {
            "ticket_id": f"DEMO-{i + 1:07d}",
            "url_hash": relocated.get(i)
            or hashlib.sha256(f"demo-url-{seed}-{i}".encode()).hexdigest(),
            "reported_at": reported_s[i],
            "notified_at": notified_s[i],
            "removed_at": "" if still_online[i] else removed_s[i],
            "checked_at": checked_s[i],
            "ip": hosts[i],
            "hostname": host,
            "provider": stated[i],
            "country": country[i],
        }


def _relocated_urls(
    rng: np.random.Generator,
    tickets: int,
    reported: np.ndarray,
    moved: float,
    hosted_in: np.ndarray,
) -> dict[int, str]:
    """Give some recent tickets hosted outside the EU the url_hash of an earlier one inside."""
    inside = np.isin(hosted_in, ["NL", "DE", "FR", "BG", "LT"])
    outside = np.isin(hosted_in, ["AE", "HK", "MD"])
    early = np.flatnonzero((reported < moved) & inside)
    late = np.flatnonzero((reported >= moved) & outside)
    pairs = min(len(early), len(late), max(1, tickets // 1000))
    if not pairs:
        return {}
    chosen_early = rng.choice(early, size=pairs, replace=False)
    chosen_late = rng.choice(late, size=pairs, replace=False)
    shared = {
        int(i): hashlib.sha256(f"demo-url-relocated-{int(i)}".encode()).hexdigest()
        for i in chosen_early
    }
    return shared | {int(j): shared[int(i)] for i, j in zip(chosen_early, chosen_late, strict=True)}


BAD_ROWS = (
    {"ticket_id": "BAD-1", "url_hash": "not-a-hash", "reported_at": "2026-05-02T10:00:00Z"},
    {"ticket_id": "BAD-2", "url_hash": "0" * 64, "reported_at": "2026-05-02 10:00"},
    {
        "ticket_id": "BAD-3",
        "url_hash": "1" * 64,
        "reported_at": "2026-05-03T10:00:00Z",
        "removed_at": "2026-05-01T09:00:00Z",
    },
    {
        "ticket_id": "BAD-4",
        "url_hash": "2" * 64,
        "reported_at": "2026-05-04T10:00:00Z",
        "ip": "10.0.0.300",
    },
    {
        "ticket_id": "BAD-5",
        "url_hash": "http://reported.example/some/page",
        "reported_at": "2026-05-05T10:00:00Z",
    },
    {"ticket_id": "BAD-6", "url_hash": "3" * 64, "reported_at": "2099-01-01T00:00:00Z"},
    {"ticket_id": "", "url_hash": "4" * 64, "reported_at": "2026-05-06T10:00:00Z"},
)


def write_export(
    path: Path, tickets: int, seed: int, now: datetime, *, bad_rows: bool = True
) -> Path:
    """Write a hotline export CSV; the few bad rows are spread through the file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    spacing = max(1, tickets // (len(BAD_ROWS) + 1))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, restval="")
        writer.writeheader()
        for i, row in enumerate(generate_rows(tickets, seed, now)):
            writer.writerow(row)
            if bad_rows and i % spacing == spacing - 1 and i // spacing < len(BAD_ROWS):
                writer.writerow(BAD_ROWS[i // spacing])
    return path
