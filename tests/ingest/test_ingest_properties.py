"""Ingest properties: junk never crashes it, valid rows are never lost, writers never race."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.errors import RawUrlRefused, UnreadableInput
from monitor.ingest import IngestOptions, ingest_file
from monitor.store.models import QuarantinedRow, Ticket, TicketEvent
from tests.ticket_files import HEADER, good_row, write_csv, write_jsonl

_counter = itertools.count()

junk_value = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            "Z",
            "2026-02-30T00:00:00Z",
            "::1",
            "http://x.example/a",
            "\x00",
            "ff" * 32,
            "2026-07-01T10:00:00",
            "1e400",
            "NaN",
            "-1",
            "2026-07-01T10:00:00+25:00",
        ]
    ),
)
junk_row = st.dictionaries(st.sampled_from(HEADER + ["extra", "URL "]), junk_value, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    junk=st.lists(junk_row, max_size=15),
    valid_count=st.integers(0, 8),
    as_jsonl=st.booleans(),
    data=st.data(),
)
def test_junk_never_crashes_and_never_loses_a_valid_row(
    engine, tmp_path_factory, junk, valid_count, as_jsonl, data
):
    source = f"prop-{next(_counter)}"
    valid = [good_row(n, ticket_id=f"V-{n}") for n in range(valid_count)]
    for row in junk:  # junk may not reuse a valid ticket_id, or it would legitimately update it
        if str(row.get("ticket_id", "")).strip().startswith("V-"):
            row["ticket_id"] = "J" + row["ticket_id"]
    rows = data.draw(st.permutations(valid + junk))
    folder = tmp_path_factory.mktemp("prop")
    path = (
        write_jsonl(folder / "x.jsonl", rows)
        if as_jsonl
        else write_csv(folder / "x.csv", rows, HEADER)
    )
    if as_jsonl and not rows:
        # An empty file is refused whole, with one clear error.
        with pytest.raises(UnreadableInput, match="x.jsonl: empty file: no rows"):
            ingest_file(engine, path, IngestOptions(source=source))
        return
    if as_jsonl and any("URL " in row for row in junk):
        # A raw-URL column refuses the whole file, loudly: nothing written, nothing silently lost.
        with pytest.raises(RawUrlRefused):
            ingest_file(engine, path, IngestOptions(source=source))
        return
    summary = ingest_file(engine, path, IngestOptions(source=source))
    assert (
        summary.read == summary.inserted + summary.updated + summary.unchanged + summary.quarantined
    )
    ticket = Ticket.__table__
    with engine.connect() as connection:
        stored = set(
            connection.scalars(sa.select(ticket.c.ticket_id).where(ticket.c.source == source))
        )
        quarantined = connection.scalar(
            sa.select(sa.func.count())
            .select_from(QuarantinedRow.__table__)
            .where(QuarantinedRow.__table__.c.source == source)
        )
    assert {row["ticket_id"] for row in valid} <= stored
    assert quarantined == summary.quarantined


def test_concurrent_overlapping_ingests_neither_duplicate_nor_lose(engine, tmp_path):
    first = write_csv(tmp_path / "a.csv", [good_row(n) for n in range(0, 600)], HEADER)
    second = write_csv(
        tmp_path / "b.csv",
        [good_row(n, removed_at="2026-07-03T00:00:00Z") for n in range(300, 900)],
        HEADER,
    )
    errors: list[BaseException] = []

    def run(path):
        try:
            ingest_file(engine, path, IngestOptions(batch_size=50))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    ticket, event = Ticket.__table__, TicketEvent.__table__
    with engine.connect() as connection:
        ids = list(connection.scalars(sa.select(ticket.c.ticket_id)))
        first_seen = connection.scalar(
            sa.select(sa.func.count()).select_from(event).where(event.c.field == "first_seen")
        )
        removed = connection.scalar(
            sa.select(sa.func.count()).select_from(ticket).where(ticket.c.removed_at.is_not(None))
        )
    assert len(ids) == len(set(ids)) == 900
    assert first_seen == 900
    assert removed == 600


@pytest.mark.postgres
def test_ingests_of_one_source_wait_for_each_other_only_within_one_schema(tmp_path):
    from monitor.ingest import lock_source
    from monitor.store.db import make_engine
    from monitor.store.schema import upgrade
    from tests.conftest import _drop_pg_schema, _new_pg_schema, postgres_base_url

    base = postgres_base_url()
    schemas = [_new_pg_schema(base) for _ in range(2)]
    engines = [make_engine(url) for _, url in schemas]
    path = write_csv(tmp_path / "a.csv", [good_row(n) for n in range(20)], HEADER)
    finished: dict[int, int] = {}

    def ingest(number: int) -> None:
        finished[number] = ingest_file(engines[number], path).inserted

    others = [threading.Thread(target=ingest, args=(n,)) for n in (1, 0)]
    for engine in engines:
        upgrade(engine)
    holder = engines[0].connect()
    try:
        holder.begin()
        lock_source(holder, "default")  # an ingest of `default` in the first schema is running
        for thread in others:
            thread.start()
        others[0].join(timeout=60)
        assert finished.get(1) == 20  # the other schema's ingest went ahead
        others[1].join(timeout=1)
        assert 0 not in finished  # the same schema's waits for the running one
    finally:
        holder.rollback()
        holder.close()
        for thread in others:
            if thread.is_alive():
                thread.join(timeout=60)
        for engine in engines:
            engine.dispose()
        for schema, _ in schemas:
            _drop_pg_schema(base, schema)
    assert finished.get(0) == 20  # and then went ahead
