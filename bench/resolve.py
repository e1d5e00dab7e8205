"""Resolution benchmark: 1,000,000 tickets on 100,000 distinct IPs, resolved offline.

Targets (issue 3): the whole `resolve_pending` (embedded data + prefix table, SQLite)
under 10 s on this machine; the prefix-table lookup at >= 500,000 lookups/s in bulk.

    python bench/resolve.py [--tickets 1000000] [--ips 100000] [--repeat 1] [--postgres URL]

The machine's pace (a fixed Python loop, `bench.common.machine_pace`) is measured right
before and after each resolve: on a shared host it varies by up to 2x within minutes.

With ../shared present the real RouteViews table (845k IPv4 + 83k IPv6 prefixes) is
imported and the addresses are drawn from announced prefixes; without it, the
bundled test excerpt is used and addresses are random public IPv4.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import os
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import machine_pace  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "routeviews"
EXCERPT = ROOT / "tests" / "data" / "providers"


def _files() -> tuple[Path, Path, Path]:
    if (SHARED / "routeviews-ipv4.pfx2as.gz").exists():
        return (
            SHARED / "routeviews-ipv4.pfx2as.gz",
            SHARED / "routeviews-ipv6.pfx2as.gz",
            SHARED / "asnames.ipinfo.csv",
        )
    return (
        EXCERPT / "routeviews-excerpt-ipv4.pfx2as",
        EXCERPT / "routeviews-excerpt-ipv6.pfx2as",
        EXCERPT / "asnames-excerpt.csv",
    )


def _addresses(v4_file: Path, v6_file: Path, count: int, rng: random.Random) -> list[str]:
    """`count` distinct addresses, 90 % IPv4, inside announced prefixes (of the real file)."""

    def prefixes(path: Path) -> list[tuple[str, int]]:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as handle:
            return [
                (parts[0], int(parts[1]))
                for parts in (line.split() for line in handle)
                if len(parts) == 3
            ]

    chosen: set[str] = set()
    v4, v6 = prefixes(v4_file), prefixes(v6_file)
    while len(chosen) < count:
        if rng.random() < 0.9:
            network, length = (
                rng.choice(v4)
                if len(v4) > 100
                else (str(ipaddress.IPv4Address(rng.getrandbits(32))), 32)
            )
            base = int(ipaddress.IPv4Address(network))
            address = ipaddress.IPv4Address(
                base | rng.getrandbits(32 - length) if length < 32 else base
            )
        else:
            network, length = rng.choice(v6)
            base = int(ipaddress.IPv6Address(network))
            address = ipaddress.IPv6Address(
                base | rng.getrandbits(128 - length) if length < 128 else base
            )
        if address.is_global:
            chosen.add(address.compressed)
    return sorted(chosen)


def _insert_tickets(url: str, ips: list[str], tickets: int, rng: random.Random) -> None:
    """1M tickets written straight into the ticket table (setup, not timed)."""
    import sqlalchemy as sa

    from monitor.store.db import make_engine
    from monitor.store.models import QUEUE_UNRESOLVED
    from providers.bulk import insert_rows

    providers = [f"Hosting Company {n} B.V." for n in range(2000)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    learnt = "2026-01-01 00:00:00.000000"
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"

    def rows():
        for n in range(tickets):
            reported = start + timedelta(seconds=rng.randrange(0, 365 * 86400))
            stamp = reported if postgres else reported.strftime("%Y-%m-%d %H:%M:%S.%f")
            yield (
                "bench",
                f"t{n}",
                f"{n:064x}",
                stamp,
                rng.choice(ips),
                f"www.site{n % 50000}.example.com" if n % 5 == 0 else None,
                rng.choice(providers) if n % 3 == 0 else None,
                rng.choice(("NL", "DE", "US", None)),
                start if postgres else learnt,
                start if postgres else learnt,
            )

    columns = (
        "source",
        "ticket_id",
        "url_hash",
        "reported_at",
        "ip",
        "hostname",
        "stated_provider",
        "stated_country",
        "first_learnt_at",
        "last_learnt_at",
    )
    with engine.begin() as connection:
        insert_rows(connection, "ticket", columns, rows())
        connection.exec_driver_sql(QUEUE_UNRESOLVED)  # as the ingest queues new tickets
        assert connection.scalar(sa.text("SELECT count(*) FROM ticket")) == tickets
    engine.dispose()


def _bare_insert(engine) -> float:
    """Seconds for writing constants as every ticket's resolution row (the floor), into a
    copy of `ticket_resolution` without its foreign key, dropped afterwards."""
    import sqlalchemy as sa

    from monitor.store.models import RESOLUTION

    columns = ", ".join(f"{c.name} {c.type.compile(engine.dialect)}" for c in RESOLUTION.c)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE TABLE bench_floor ({columns}, PRIMARY KEY (id))"))
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO bench_floor (id, registered_domain, provider, asn, network, prefix, "
                "geo_country, registered_country, country, cdn, eu, inhope, resolution_sources, "
                "resolved_at) SELECT id, hostname, 'Some Provider', 64500, 'Some Network B.V.', "
                "'192.0.2.0/24', 'NL', 'NL', 'NL', false, true, true, "
                "'country=geo pfx2as-00000000-00000000 geoip2fast-0.0.0-geolite2-00000000', "
                "reported_at FROM ticket"
            )
        )
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE bench_floor"))
    return seconds


def run(url: str, tickets: int, distinct: int) -> tuple[list[tuple[str, str, str]], float]:
    """One fresh database: the figures as table rows, and the seconds of the resolve."""
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade
    from providers import embedded
    from providers.prefix_import import refresh_prefix_table
    from providers.prefix_table import load_prefix_table
    from providers.resolve import resolve_pending

    rng = random.Random(3)
    v4_file, v6_file, names_file = _files()
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    imported = refresh_prefix_table(engine, str(v4_file), str(v6_file), str(names_file))
    import_seconds = time.perf_counter() - started
    ips = _addresses(v4_file, v6_file, distinct, rng)
    _insert_tickets(url, ips, tickets, rng)
    # One-off loads, once per process (a scheduler keeps them in memory): reported apart.
    started = time.perf_counter()
    embedded.data_version()
    geo_load_seconds = time.perf_counter() - started
    started = time.perf_counter()
    table, _ = load_prefix_table(engine)
    load_seconds = time.perf_counter() - started
    pace_before = machine_pace()
    started = time.perf_counter()
    summary = resolve_pending(engine)
    resolve_seconds = time.perf_counter() - started
    pace_after = machine_pace()
    assert summary["resolved"] == tickets, summary
    rerun = time.perf_counter()
    assert resolve_pending(engine)["resolved"] == 0
    rerun_seconds = time.perf_counter() - rerun
    floor_seconds = _bare_insert(engine)
    addresses = np.frombuffer(
        np.random.default_rng(5).bytes(8 * 1_000_000), dtype=np.uint64
    ) >> np.uint64(32)
    started = time.perf_counter()
    matched = table.lookup_v4(addresses)
    v4_rate = addresses.size / (time.perf_counter() - started)
    v4_ips = [ip for ip in ips if ":" not in ip]
    started = time.perf_counter()
    table.lookup(v4_ips)
    string_rate = len(v4_ips) / (time.perf_counter() - started)
    engine.dispose()
    rows = [
        (
            "prefix table import",
            f"{import_seconds:.1f} s ({imported['prefixes_v4']:,} + "
            f"{imported['prefixes_v6']:,} prefixes)",
            "-",
        ),
        (
            "one-off loads: embedded data, prefix-table index",
            f"{geo_load_seconds:.1f} s, {load_seconds:.1f} s",
            "-",
        ),
        (
            f"resolve {tickets:,} tickets / {summary['ips']:,} distinct IPs",
            f"{resolve_seconds:.1f} s",
            "< 10 s",
        ),
        (
            "  read / IP facts / write tickets",
            " / ".join(f"{v:.1f} s" for v in summary["timings"].values()),
            "-",
        ),
        ("  bare INSERT of the same rows (floor)", f"{floor_seconds:.1f} s", "-"),
        (
            "  of which: looked up",
            ", ".join(f"{k} {v:,}" for k, v in summary["lookups"].items()),
            "once per IP",
        ),
        ("re-run with nothing pending", f"{rerun_seconds:.2f} s", "-"),
        (
            "bulk LPM, 1M random IPv4 (uint)",
            f"{v4_rate:,.0f} lookups/s ({(matched >= 0).mean():.0%} matched)",
            ">= 500,000/s",
        ),
        (
            "bulk LPM incl. parsing, distinct IPv4 strings",
            f"{string_rate:,.0f} lookups/s",
            ">= 500,000/s",
        ),
        ("peak memory", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", "-"),
        (
            "machine pace before / after the resolve (fixed loop; lower = faster)",
            f"{pace_before:.2f} s / {pace_after:.2f} s",
            "-",
        ),
    ]
    return rows, resolve_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--ips", type=int, default=100_000)
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL URL (an empty database or schema)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="fresh databases per backend (prints the median)"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"prefix data: {_files()[0]}")
    targets = []
    with tempfile.TemporaryDirectory() as folder:
        targets.append(("sqlite", f"sqlite:///{folder}/bench.db"))
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for name, url in targets:
            seconds = []
            runs = args.repeat if name == "sqlite" else 1  # a PostgreSQL URL is used once
            for _ in range(runs):
                print(f"\n{name}\n\n| figure | value | target |\n|---|---|---|")
                rows, resolve_seconds = run(url, args.tickets, args.ips)
                seconds.append(resolve_seconds)
                for figure, value, target in rows:
                    print(f"| {figure} | {value} | {target} |")
                if name == "sqlite":  # the next run starts from a fresh file
                    for path in Path(folder).glob("bench.db*"):
                        path.unlink()
            if runs > 1:
                listed = ", ".join(f"{value:.1f}" for value in seconds)
                print(
                    f"\n{name}: resolve over {runs} fresh databases: {listed} s; "
                    f"median {statistics.median(seconds):.1f} s"
                )


if __name__ == "__main__":
    main()
