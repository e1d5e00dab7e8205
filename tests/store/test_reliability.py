"""Crashes and outages: kill -9 mid-ingest, the database going away mid-job.

Bounded in time and loopback only. The ingest is one transaction per file, so a
killed ingest leaves either everything or nothing, and re-running it finishes the job.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from monitor.demo.data import write_export
from monitor.ingest import IngestOptions, ingest_file
from monitor.store.db import make_engine
from monitor.store.models import IngestRun, Ticket, TicketEvent
from tests.conftest import postgres_base_url
from tests.tcp_proxy import TcpProxy

NOW = datetime(2026, 11, 22, tzinfo=UTC)
TICKETS = 100_000


def _counts(engine) -> tuple[int, int, int]:
    ticket, event = Ticket.__table__, TicketEvent.__table__
    with engine.connect() as connection:
        tickets = connection.scalar(sa.select(sa.func.count()).select_from(ticket))
        distinct = connection.scalar(sa.select(sa.func.count(sa.distinct(ticket.c.ticket_id))))
        first_seen = connection.scalar(
            sa.select(sa.func.count()).select_from(event).where(event.c.field == "first_seen")
        )
    return tickets, distinct, first_seen


def _ingest_process(db_url: str, path) -> subprocess.Popen:
    code = "import sys; from monitor.cli import main; sys.argv = ['monitor'] + sys.argv[1:]; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--db", db_url, "ingest", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_9_at_random_points_never_leaves_half_an_ingest(db_url, tmp_path):
    path = write_export(tmp_path / "big.csv", TICKETS, seed=3, now=NOW, bad_rows=False)
    engine = make_engine(db_url)
    rng = random.Random(20261122)
    outcomes = set()
    for _attempt in range(4):
        process = _ingest_process(db_url, path)
        time.sleep(rng.uniform(0.8, 2.5))  # after start-up (~0.7 s), before the commit
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        tickets, distinct, first_seen = _counts(engine)
        assert tickets == distinct == first_seen
        assert tickets in (0, TICKETS), f"half an ingest is visible: {tickets} tickets"
        outcomes.add(tickets)
    assert 0 in outcomes, "no kill landed mid-ingest; the test proved nothing"
    finished = _ingest_process(db_url, path)
    assert finished.wait(timeout=120) == 0
    assert _counts(engine) == (TICKETS, TICKETS, TICKETS)
    engine.dispose()


def test_database_going_away_fails_cleanly_and_next_run_succeeds(tmp_path, caplog):
    base = postgres_base_url()
    url = make_url(base)
    import uuid

    schema = "t_" + uuid.uuid4().hex[:16]
    admin = sa.create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    try:
        from monitor.store.schema import upgrade

        engine = make_engine(proxied.render_as_string(hide_password=False))
        upgrade(engine)
        path = write_export(tmp_path / "big.csv", TICKETS, seed=4, now=NOW, bad_rows=False)
        threading.Timer(0.8, proxy.cut).start()
        with pytest.raises(sa.exc.OperationalError):
            ingest_file(engine, path, IngestOptions(batch_size=500), now=NOW)
        assert "could not record the failed ingest" in caplog.text
        proxy.start()  # the server is back
        summary = ingest_file(engine, path, now=NOW)  # pool pre-ping replaces the dead connections
        assert summary.inserted == TICKETS
        assert _counts(engine) == (TICKETS, TICKETS, TICKETS)
        with engine.connect() as connection:
            runs = connection.execute(sa.select(IngestRun.__table__.c.status)).scalars().all()
        assert runs == ["ok"]
        engine.dispose()
    finally:
        proxy.cut()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
