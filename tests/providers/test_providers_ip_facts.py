"""Per-IP answers stored in `ip_resolution` and read back, on both backends."""

from __future__ import annotations

import gc
import random
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from providers.ip_facts import (
    ROW_COLUMNS,
    _results,
    _store_results,
    _stored,
    collect_ip_facts,
)
from providers.results import NOT_FOUND, IpResult
from tests.providers.test_providers_support import FakeResolver

NOW = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _random_rows(count: int, seed: int) -> list[tuple]:
    """Rows in ROW_COLUMNS order with every field now set, now NULL."""
    rng = random.Random(seed)

    def maybe(value):
        return value if rng.random() < 0.5 else None

    rows = []
    for number in range(count):
        rows.append(
            (
                f"10.{number // 65536}.{number // 256 % 256}.{number % 256}",
                rng.choice(["ok", "not_found"]),
                maybe(rng.randint(1, 400_000)),
                maybe(f"Network {number} B.V."),
                maybe(f"10.{number // 65536}.0.0/16"),
                maybe("NL"),
                maybe("DE"),
                maybe("ripencc"),
                maybe(f"multiple origins {{{number},{number + 1}}}"),
            )
        )
    return rows


def _table(engine) -> list[tuple]:
    with engine.connect() as connection:
        query = f"SELECT {', '.join(ROW_COLUMNS)}, source, data_version, resolved_at "
        return sorted(
            tuple(row) for row in connection.execute(sa.text(query + "FROM ip_resolution"))
        )


def _at(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def test_stored_rows_read_back_as_given(engine):
    rows = _random_rows(357, seed=1)  # several multi-row statements and a short last one
    rows += [(f"192.0.2.{n}", "not_found", *[None] * 7) for n in range(150)]  # all-NULL chunks
    with engine.begin() as connection:
        _store_results(connection, "embedded", "v1", NOW, rows)
        _store_results(connection, "embedded", "v1", NOW, rows[:3])  # already there: ignored
    stored = _table(engine)
    assert [row[:-1] for row in stored] == sorted((*row, "embedded", "v1") for row in rows)
    assert {_at(row[-1]).replace(tzinfo=UTC) for row in stored} == {NOW}

    resolver = FakeResolver("embedded", {})
    with engine.connect() as connection:
        found = _stored(connection, resolver, "v1", [row[0] for row in rows] + ["10.9.9.9"], NOW)
    assert found == {row[0]: IpResult(*row[1:]) for row in rows}


def test_fresh_answers_are_stored_and_reused(engine):
    answers = {"5.0.0.1": IpResult(network="Hetzner Online GmbH", geo_country="DE")}
    resolver = FakeResolver("embedded", answers, ttl=timedelta(days=1))
    summary = {"lookups": {}, "reused": {}, "online_failed": 0}
    ips = ["5.0.0.1", "5.0.0.2"]
    first = _results(engine, resolver, "v1", ips, NOW, summary)
    assert first == {"5.0.0.1": answers["5.0.0.1"], "5.0.0.2": NOT_FOUND}
    assert summary["lookups"] == {"embedded": 2} and summary["reused"] == {"embedded": 0}
    again = _results(engine, resolver, "v1", ips, NOW + timedelta(hours=1), summary)
    assert again == first
    assert summary["lookups"] == {"embedded": 0} and summary["reused"] == {"embedded": 2}


def test_collector_is_paused_for_offline_runs_only_and_switched_back_on(engine):
    seen = []

    class Probe(FakeResolver):
        def resolve(self, ips):
            seen.append(gc.isenabled())
            return super().resolve(ips)

    for ip, ttl in (("5.0.0.1", None), ("5.0.0.2", timedelta(days=1))):
        summary = {"pending": 1, "lookups": {}, "reused": {}, "online_failed": 0}
        summary["data_versions"] = {"embedded": "v1"}
        collect_ip_facts(engine, [Probe("embedded", {}, ttl=ttl)], [ip], NOW, summary)
    assert seen == [False, True]
    assert gc.isenabled()
