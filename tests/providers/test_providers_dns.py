"""`monitor resolve --dns`: opt-in lookups for tickets with a hostname and no IP.

No test here touches the network: the lookups are dict-backed fakes, and the CLI tests
replace `socket.getaddrinfo`. Without `--dns` it must never be called at all.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import providers.resolve as resolve_module
from monitor.store.models import Ticket
from providers.dns import choose_address, lookup_addresses, system_lookup
from providers.resolve import resolve_pending
from providers.results import IpResult
from providers.ticket_update import _postgres_insert, _sqlite_insert
from tests.providers.test_providers_resolve import RESOLUTION_COLUMNS
from tests.providers.test_providers_support import FakeResolver, add_tickets, tickets
from tests.store.test_query_plans import _plan

HOSTING = IpResult(geo_country="NL", network="Example Hosting B.V.")
RESOLVERS_ANSWERS = {"5.0.0.7": HOSTING, "5.0.0.8": IpResult(geo_country="DE", network="Other")}


class FakeDns:
    """A dict-backed lookup that records what it was asked; a value may be an exception."""

    def __init__(self, answers: dict[str, list[str] | Exception]):
        self.answers, self.asked = answers, []
        self.lock = threading.Lock()

    def __call__(self, hostname: str) -> list[str]:
        with self.lock:
            self.asked.append(hostname)
        answer = self.answers.get(hostname, [])
        if isinstance(answer, Exception):
            raise answer
        return answer


def _resolvers() -> list[FakeResolver]:
    return [FakeResolver("embedded", dict(RESOLVERS_ANSWERS))]


def _no_getaddrinfo(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a DNS query was made")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --- choosing one address -------------------------------------------------------------


@pytest.mark.parametrize(
    "answers, chosen",
    [
        (["2a01:4f8::2", "5.0.0.9", "5.0.0.10", "2a01:4f8::1"], "5.0.0.9"),
        (["5.0.0.10", "5.0.0.9"], "5.0.0.9"),  # by value, not by text
        (["2a01:4f8::2", "2a01:4f8::1"], "2a01:4f8::1"),
        (["10.0.0.1", "2a01:4f8::1"], "2a01:4f8::1"),  # a global one before any private one
        (["127.0.0.1", "10.0.0.1"], "10.0.0.1"),  # nothing global: still one, reported as such
        (["fe80::1%eth0"], "fe80::1"),  # zone id dropped
        (["::ffff:5.0.0.9"], "5.0.0.9"),  # canonical form, as stored IPs
        (["not an address", "5.0.0.9"], "5.0.0.9"),
        ([], None),
        (["garbage"], None),
    ],
)
def test_one_address_is_chosen_deterministically(answers, chosen):
    assert choose_address(answers) == chosen
    assert choose_address(list(reversed(answers))) == chosen


def test_the_system_lookup_reads_getaddrinfo(monkeypatch):
    def fake(host, port, *args, **kwargs):
        assert (host, port) == ("files.example.com", None)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("5.0.0.9", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2a01:4f8::1", 0, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert system_lookup("files.example.com") == ["5.0.0.9", "2a01:4f8::1"]


# --- looking up many hostnames --------------------------------------------------------


def test_failures_timeouts_and_empty_answers_give_no_address(caplog):
    release = threading.Event()

    def slow(hostname):
        release.wait(10)
        return ["5.0.0.1"]

    answers = {"ok.example": ["5.0.0.7"], "boom.example": OSError("lookup failed"), "empty": []}
    fake = FakeDns(answers)
    lookup = lambda host: slow(host) if host == "slow.example" else fake(host)  # noqa: E731
    began = time.monotonic()
    with caplog.at_level(logging.DEBUG, logger="providers.dns"):
        found = lookup_addresses(
            ["ok.example", "slow.example", "boom.example", "empty"], lookup, timeout=0.2
        )
    release.set()
    assert time.monotonic() - began < 5
    assert found == {
        "ok.example": "5.0.0.7",
        "slow.example": None,
        "boom.example": None,
        "empty": None,
    }
    assert "timed out" in caplog.text and "OSError: lookup failed" in caplog.text


def test_lookups_run_concurrently_but_bounded():
    running, most, lock = [0], [0], threading.Lock()

    def lookup(hostname):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return ["5.0.0.7"]

    found = lookup_addresses([f"h{n}.example" for n in range(20)], lookup, workers=4)
    assert set(found.values()) == {"5.0.0.7"} and len(found) == 20
    assert 1 < most[0] <= 4


HUNG_RESOLVER = """
import threading
from providers.dns import lookup_addresses

never = threading.Event()
def lookup(hostname):
    if hostname == "hung.example":
        never.wait()  # a system resolver that never answers
    return ["5.0.0.7"]

print(sorted(lookup_addresses(["hung.example", "ok.example"], lookup, timeout=0.2).items()))
"""


def test_a_hung_lookup_does_not_hold_up_the_process_exit():
    # With a ThreadPoolExecutor the interpreter joins the hung worker at exit: this waited
    # for ever. The limit below is far above a normal start-up (about a second).
    done = subprocess.run(
        [sys.executable, "-c", HUNG_RESOLVER],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[('hung.example', None), ('ok.example', '5.0.0.7')]"


def test_hostnames_and_urls_stay_out_of_the_log(caplog):
    fake = FakeDns(
        {"secret-host.example": OSError("failed for https://secret-host.example/abuse.jpg")}
    )
    with caplog.at_level(logging.DEBUG, logger="providers.dns"):
        lookup_addresses(["secret-host.example", "other.example"], fake)
    assert "abuse.jpg" not in caplog.text and "[redacted: raw URL]" in caplog.text
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert info and not any("secret-host" in m or "other.example" in m for m in info)


# --- the resolution with DNS ----------------------------------------------------------


def test_hostname_only_tickets_resolve_through_the_looked_up_address(engine):
    add_tickets(
        engine,
        [
            {"ticket_id": "by-ip", "ip": "5.0.0.7", "hostname": "x.example.net"},
            {"ticket_id": "by-dns", "hostname": "files.example.com", "country": "TR"},
            {"ticket_id": "by-dns-too", "hostname": "files.example.com"},
            {"ticket_id": "ip-kept", "ip": "5.0.0.8", "hostname": "mirror.example.org"},
            {"ticket_id": "mixed", "hostname": "mixed.example.com", "provider": "Stated B.V."},
            {"ticket_id": "nothing"},
        ],
    )
    fake = FakeDns(
        {
            "files.example.com": ["2a01:4f8::1", "5.0.0.7"],
            "mixed.example.com": ["10.0.0.1", "5.0.0.8"],
            "mirror.example.org": ["5.0.0.7"],  # never asked: that ticket has an IP
            "x.example.net": ["5.0.0.8"],
        }
    )
    summary = resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=fake)
    assert sorted(fake.asked) == ["files.example.com", "mixed.example.com"]  # each once
    assert (summary["dns"], summary["dns_looked_up"], summary["dns_failed"]) == (True, 2, 0)
    assert (summary["resolved"], summary["without_ip"], summary["ips"]) == (6, 1, 2)

    found = tickets(engine)
    by_ip, by_dns = found["by-ip"], found["by-dns"]
    same = [c for c in RESOLUTION_COLUMNS if c not in ("resolution_sources", "registered_domain")]
    assert {c: by_dns[c] for c in same} == {c: by_ip[c] for c in same}
    assert (by_dns["country"], by_dns["network"], by_dns["eu"]) == (
        "NL",
        "Example Hosting B.V.",
        True,
    )
    assert (by_dns["ip"], by_dns["dns_ip"], by_ip["dns_ip"]) == (None, "5.0.0.7", None)
    ip_sources = by_ip["resolution_sources"].removeprefix("country=geo ")
    assert by_dns["resolution_sources"] == f"country=geo ip=dns {ip_sources}"
    assert found["by-dns-too"]["dns_ip"] == "5.0.0.7"

    kept = found["ip-kept"]
    assert (kept["ip"], kept["dns_ip"], kept["country"]) == ("5.0.0.8", None, "DE")
    mixed = found["mixed"]
    assert (mixed["dns_ip"], mixed["country"], mixed["provider"]) == ("5.0.0.8", "DE", "Stated")
    nothing = found["nothing"]
    assert (nothing["dns_ip"], nothing["resolution_sources"]) == (None, "country=none ip=none")


def test_a_failed_lookup_resolves_the_ticket_as_without_an_ip(engine, monkeypatch):
    release = threading.Event()
    fake = FakeDns({"boom.example": OSError("no"), "empty.example": []})

    def lookup(hostname):
        if hostname == "slow.example":
            release.wait(10)
        return fake(hostname)

    monkeypatch.setattr(
        resolve_module, "lookup_addresses", functools.partial(lookup_addresses, timeout=0.2)
    )
    add_tickets(
        engine,
        [
            {"ticket_id": "boom", "hostname": "boom.example", "country": "tr"},
            {"ticket_id": "empty", "hostname": "empty.example", "country": "NL"},
            {"ticket_id": "slow", "hostname": "slow.example"},
        ],
    )
    try:
        summary = resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=lookup)
    finally:
        release.set()
    assert (summary["resolved"], summary["dns_looked_up"], summary["dns_failed"]) == (3, 3, 3)
    assert summary["without_ip"] == 3
    found = {
        k: (v["country"], v["eu"], v["dns_ip"], v["resolution_sources"])
        for k, v in tickets(engine).items()
    }
    assert found == {
        "boom": ("TR", False, None, "country=stated ip=dns-failed"),
        "empty": ("NL", True, None, "country=stated ip=dns-failed"),
        "slow": (None, None, None, "country=none ip=dns-failed"),
    }


def test_a_private_answer_is_reported_as_private_never_as_a_country(engine):
    add_tickets(engine, [{"ticket_id": "lan", "hostname": "intranet.example", "country": "GB"}])
    geo = FakeResolver("embedded", {"10.1.2.3": IpResult(geo_country="US", network="Wrong")})
    fake = FakeDns({"intranet.example": ["10.1.2.3"]})
    summary = resolve_pending(engine, resolvers=[geo], dns=True, dns_lookup=fake)
    lan = tickets(engine)["lan"]
    assert geo.asked == [] and summary["special_ips"] == 1
    assert (lan["dns_ip"], lan["network"], lan["geo_country"], lan["country"]) == (
        "10.1.2.3",
        None,
        None,
        "GB",
    )
    assert (lan["provider"], lan["resolution_sources"]) == (
        "unknown",
        "country=stated ip=dns ip=private-address",
    )


def test_re_running_with_dns_changes_nothing_and_looks_nothing_up(engine):
    add_tickets(engine, [{"ticket_id": "1", "hostname": "files.example.com"}])
    fake = FakeDns({"files.example.com": ["5.0.0.7"]})
    resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=fake)
    before = tickets(engine)
    again = resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=fake)
    assert (again["pending"], again["resolved"], again["dns_looked_up"]) == (0, 0, 0)
    assert tickets(engine) == before and fake.asked == ["files.example.com"]


def test_a_ticket_whose_hostname_changed_during_the_run_stays_pending(engine, monkeypatch):
    add_tickets(
        engine,
        [
            {"ticket_id": "moved", "hostname": "old.example.com"},
            {"ticket_id": "steady", "hostname": "old.example.com"},
            {"ticket_id": "with-ip", "ip": "5.0.0.8", "hostname": "new.example.org"},
        ],
    )
    ticket = Ticket.__table__
    write = resolve_module.write_resolution

    def ingest_then_write(connection, **arguments):
        with engine.begin() as other:  # new.example.org is known, but was never looked up
            other.execute(
                ticket.update()
                .where(ticket.c.ticket_id == "moved")
                .values(hostname="new.example.org")
            )
        return write(connection, **arguments)

    fake = FakeDns({"old.example.com": ["5.0.0.7"], "new.example.org": ["5.0.0.8"]})
    monkeypatch.setattr(resolve_module, "write_resolution", ingest_then_write)
    summary = resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=fake)
    monkeypatch.setattr(resolve_module, "write_resolution", write)
    moved = tickets(engine)["moved"]
    assert summary["resolved"] == 2
    assert all(moved[c] is None for c in (*RESOLUTION_COLUMNS, "dns_ip"))
    again = resolve_pending(engine, resolvers=_resolvers(), dns=True, dns_lookup=fake)
    moved = tickets(engine)["moved"]
    assert again["resolved"] == 1 and (moved["dns_ip"], moved["country"]) == ("5.0.0.8", "DE")


def test_without_dns_no_query_is_ever_made(engine, monkeypatch):
    _no_getaddrinfo(monkeypatch)
    add_tickets(
        engine,
        [
            {"ticket_id": "host", "hostname": "files.example.com", "country": "TR"},
            {"ticket_id": "literal", "hostname": "5.0.0.7"},
        ],
    )
    summary = resolve_pending(engine)
    assert (summary["dns"], summary["dns_looked_up"], summary["resolved"]) == (False, 0, 2)
    host = tickets(engine)["host"]
    assert (host["dns_ip"], host["country"], host["resolution_sources"]) == (
        None,
        "TR",
        "country=stated ip=none",
    )


def test_the_statements_without_dns_have_no_dns_branch():
    for statement in (_sqlite_insert(), _postgres_insert()):
        assert "rs_dns" not in statement and "dns_ip" not in statement
    assert "rs_dns" in _sqlite_insert(dns=True) and "rs_dns" in _postgres_insert(dns=True)


def test_the_sqlite_dns_write_searches_each_lookup_by_key(sqlite_engine):
    from providers.bulk import create_temp_table
    from providers.ticket_update import DNS_COLUMNS, DNS_TABLE, TEMP_KEYS, TEMP_TABLES

    with sqlite_engine.begin() as connection:
        for name, columns in TEMP_TABLES.items():
            create_temp_table(connection, name, columns, TEMP_KEYS[name])
        create_temp_table(connection, DNS_TABLE, DNS_COLUMNS, ("hostname",))
        sql = _sqlite_insert(dns=True).replace(":low", "0").replace(":high", "9")
        plan = _plan(connection, _bound(sql), ())
    for table, key in (("f", "ip=?"), ("h", "hostname=?"), ("s", "name=?"), ("d", "hostname=?")):
        assert f"SEARCH {table} USING PRIMARY KEY ({key})" in plan, plan


# --- the command line -----------------------------------------------------------------


def _getaddrinfo(answers: dict[str, list[str]], asked: list[str]):
    def fake(host, port, *args, **kwargs):
        asked.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0))
            for ip in answers[host]
        ]

    return fake


def _ingest(cli, tmp_path) -> None:
    data = tmp_path / "tickets.csv"
    data.write_text(
        "ticket_id,url_hash,reported_at,ip,hostname,provider,country\n"
        f"t1,{'a' * 64},2024-02-01T10:00:00Z,,img.example.nl,,NL\n"
        f"t2,{'b' * 64},2024-02-01T11:00:00Z,45.148.164.1,mirror.example.org,,\n"
        f"t3,{'c' * 64},2024-02-01T12:00:00Z,,gone.example.net,,TR\n"
    )
    cli("ingest", data)


def test_the_cli_looks_up_hostnames_with_dns_only(cli, tmp_path, monkeypatch):
    asked: list[str] = []
    answers = {"img.example.nl": ["45.148.164.1"], "mirror.example.org": ["5.79.64.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", _getaddrinfo(answers, asked))
    _ingest(cli, tmp_path)
    summary = json.loads(cli("resolve", "--dns", "--json").output)
    assert sorted(asked) == ["gone.example.net", "img.example.nl"]
    assert (summary["resolved"], summary["dns_looked_up"], summary["dns_failed"]) == (3, 2, 1)

    rows = {r["ticket_id"]: r for r in csv.DictReader(io.StringIO(cli("tickets", "export").output))}
    assert list(next(iter(rows.values())))[-2:] == ["inhope", "dns_ip"]
    t1, t2, t3 = rows["t1"], rows["t2"], rows["t3"]
    assert (t1["ip"], t1["dns_ip"], t1["network"], t1["country"]) == (
        "",
        "45.148.164.1",
        "IQWeb FZ-LLC",
        "AE",
    )
    assert (t1["provider"], t1["eu"], t1["inhope"]) == ("IQWeb", "false", "false")
    assert (t2["ip"], t2["dns_ip"], t2["network"]) == ("45.148.164.1", "", "IQWeb FZ-LLC")
    assert (t3["dns_ip"], t3["country"], t3["network"]) == ("", "TR", "")
    out = tmp_path / "export.jsonl"
    cli("tickets", "export", "--format", "jsonl", "--out", out)
    objects = {o["ticket_id"]: o for o in map(json.loads, out.read_text().splitlines())}
    assert (objects["t1"]["dns_ip"], objects["t3"]["dns_ip"]) == ("45.148.164.1", None)


def test_the_cli_text_summary_counts_the_lookups(sqlite_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", _getaddrinfo({"img.example.nl": ["5.0.0.7"]}, []))
    _ingest(sqlite_cli, tmp_path)
    text = sqlite_cli("resolve", "--dns").output
    assert "dns: 2 hostnames of tickets without an IP looked up, 1 without a usable address" in text
    assert "img.example.nl" not in text


def test_the_cli_without_dns_makes_no_query(cli, tmp_path, monkeypatch):
    _no_getaddrinfo(monkeypatch)
    _ingest(cli, tmp_path)
    summary = json.loads(cli("resolve", "--json").output)
    assert (summary["resolved"], summary["dns"], summary["dns_looked_up"]) == (3, False, 0)
    assert "dns:" not in cli("resolve").output


def _bound(sql: str) -> str:
    """The resolution write with its run values spelled out (EXPLAIN takes no parameters)."""
    for name, value in (("now", "'x'"), ("first", "'2024-01-01'"), ("last", "'2024-12-31'")):
        sql = sql.replace(f":{name}", value)
    return sql
