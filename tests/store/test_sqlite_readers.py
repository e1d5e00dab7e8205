"""SQLite: readers never wait for a writer; a writer that gives up on the lock says so.

Another connection holds the write lock (BEGIN IMMEDIATE with an uncommitted insert, as an
ingest does) while `status`, `scorecard` and friends run. The busy timeout is cut to 2 s
here: a reader that waited for the lock would fail with `database is locked` instead of
answering, so success shows it did not wait (no timing assertion).
"""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest

import monitor.store.db
from tests.statistics.test_scorecard_cli import PERIOD_ARGS, _fill


@pytest.fixture
def locked(sqlite_cli, tmp_path, monkeypatch):
    """The CLI while a second connection holds the database's write lock."""
    _fill(sqlite_cli.db_url, n=60)
    monkeypatch.setattr(monitor.store.db, "BUSY_TIMEOUT_S", 2)
    writer = sqlite3.connect(str(tmp_path / "cli.db"), isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO provider (name, created_at) VALUES ('held by a writer', '2026-01-01')"
    )
    yield sqlite_cli
    writer.execute("ROLLBACK")
    writer.close()


def _in_thread(call, timeout: float = 30):
    """Run `call` in a thread; a hang beyond `timeout` fails the test instead of the suite."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the command blocked behind the writer"
    return result["value"]


@pytest.mark.parametrize(
    "args",
    [
        ("status", "--json"),
        ("scorecard", *PERIOD_ARGS, "--format", "json"),
        ("scorecard", *PERIOD_ARGS),
        ("overdue", "--json"),
        ("providers", "list", "--json"),
        ("tickets", "export"),
        ("snapshots", "list"),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_readers_answer_while_a_writer_holds_the_lock(locked, args):
    result = _in_thread(lambda: locked(*args, ok=False))
    assert result.exit_code == 0, result.output
    if "--json" in args or "json" in args:
        json.loads(result.stdout)


def test_the_reader_sees_the_last_committed_state(locked):
    status = json.loads(_in_thread(lambda: locked("status", "--json")).stdout)
    assert status["tickets"] == 60


def test_a_writer_gives_up_with_a_clear_line(locked, monkeypatch):
    monkeypatch.delenv("MONITOR_DEBUG", raising=False)
    result = _in_thread(lambda: locked("providers", "alias", "x", "Y", ok=False))
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the database is busy: another monitor command held its write lock for 2 s "
        "and this one gave up; try again when it has finished (set MONITOR_DEBUG=1 for the "
        "details)\n"
    )


def test_writers_still_begin_immediate_and_readers_deferred(sqlite_engine):
    statements = []
    from sqlalchemy import event

    @event.listens_for(sqlite_engine, "before_cursor_execute")
    def _record(conn, cursor, statement, *args):
        statements.append(statement)

    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("SELECT 1")
    with monitor.store.db.reader(sqlite_engine).connect() as connection:
        connection.exec_driver_sql("SELECT 1")
    assert [s for s in statements if s.startswith("BEGIN")] == ["BEGIN IMMEDIATE", "BEGIN DEFERRED"]
