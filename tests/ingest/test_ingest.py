"""Ingest as INTERFACE.md section 1 says: validation, quarantine, updates, idempotence."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from monitor.core.errors import RawUrlRefused, StrictModeRejected, UnreadableInput
from monitor.ingest import IngestOptions, ingest_file
from monitor.store.models import IngestRun, QuarantinedRow, Ticket, TicketEvent
from tests.ticket_files import HEADER, good_row, url_hash, write_csv, write_jsonl

TABLES = {
    "ticket": Ticket.__table__,
    "ticket_event": TicketEvent.__table__,
    "quarantine": QuarantinedRow.__table__,
    "ingest_run": IngestRun.__table__,
}


def counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for name, table in TABLES.items()
        }


def quarantine_rows(engine) -> list[dict]:
    table = TABLES["quarantine"]
    with engine.connect() as connection:
        return [
            dict(r) for r in connection.execute(sa.select(table).order_by(table.c.line)).mappings()
        ]


BAD_ROWS = [
    pytest.param({"ticket_id": ""}, "missing required field: ticket_id", id="missing-ticket-id"),
    pytest.param({"url_hash": ""}, "missing required field: url_hash", id="missing-url-hash"),
    pytest.param(
        {"reported_at": ""}, "missing required field: reported_at", id="missing-reported-at"
    ),
    pytest.param(
        {"url_hash": "abc123"},
        "url_hash: not 64 hex characters (got 6 characters)",
        id="short-hash",
    ),
    pytest.param(
        {"url_hash": "g" * 64}, "url_hash: not 64 hex characters (got 64 characters)", id="non-hex"
    ),
    pytest.param(
        {"url_hash": "https://bad.example/path?x=1"},
        "url_hash: raw URL: refusing to store",
        id="url-in-hash",
    ),
    pytest.param(
        {"url_hash": "bad.example/some/path"},
        "url_hash: raw URL: refusing to store",
        id="schemeless-url",
    ),
    pytest.param(
        {"reported_at": "yesterday"},
        "reported_at: unparseable timestamp (expected ISO 8601)",
        id="unparseable",
    ),
    pytest.param(
        {"notified_at": "2026-07-01 11:00"},
        "notified_at: timestamp without offset (add Z or +HH:MM, or give --timezone)",
        id="naive",
    ),
    pytest.param(
        {"removed_at": "2026-06-30T10:00:00Z"},
        "removed_at earlier than reported_at",
        id="removed-before-report",
    ),
    pytest.param(
        {"checked_at": "2099-01-01T00:00:00Z"},
        "checked_at: timestamp in the future (later than now + 5 minutes)",
        id="future",
    ),
    pytest.param({"ip": "300.1.2.3"}, "ip: not a valid IPv4 or IPv6 address", id="bad-ip"),
    pytest.param(
        {"hostname": "https://bad.example/x"},
        "hostname: host part only: no scheme, path, query, credentials or spaces"
        " (raw URL: refusing to store)",
        id="url-in-hostname",
    ),
    pytest.param({"country": "NLD"}, "country: not an ISO 3166-1 alpha-2 code", id="bad-country"),
]


@pytest.mark.parametrize("override, reason", BAD_ROWS)
def test_each_quarantine_reason_has_its_message(engine, tmp_path, override, reason):
    path = write_csv(
        tmp_path / "in.csv", [good_row(1), good_row(2, **override), good_row(3)], HEADER
    )
    summary = ingest_file(engine, path)
    assert (summary.read, summary.inserted, summary.quarantined) == (3, 2, 1)
    assert summary.errors == [{"file": "in.csv", "line": 3, "reason": reason}]
    [row] = quarantine_rows(engine)
    assert (row["line"], row["reason"], row["origin"]) == (3, reason, "in.csv")
    assert "bad.example" not in row["raw"]  # raw URLs are redacted even in quarantine
    assert counts(engine)["ticket"] == 2


def test_mixed_file_keeps_good_rows_and_quarantines_exactly_the_bad(engine, tmp_path):
    rows = [good_row(n) for n in range(10)]
    bad_lines = {
        3: {"url_hash": "nope"},
        6: {"ip": "1.2.3"},
        9: {"reported_at": "2026-13-01T00:00:00Z"},
    }
    for n, override in bad_lines.items():
        rows[n].update(override)
    summary = ingest_file(engine, write_csv(tmp_path / "mixed.csv", rows, HEADER))
    assert summary.inserted == 7 and summary.quarantined == 3
    assert [e["line"] for e in summary.errors] == [n + 2 for n in bad_lines]  # header is line 1
    with engine.connect() as connection:
        ids = set(connection.scalars(sa.select(Ticket.__table__.c.ticket_id)))
    assert ids == {f"T-{n:06d}" for n in range(10) if n not in bad_lines}


def test_reingest_changes_nothing(engine, tmp_path):
    path = write_csv(
        tmp_path / "a.csv", [good_row(n) for n in range(5)] + [good_row(9, ip="x")], HEADER
    )
    first = ingest_file(engine, path)
    before = counts(engine)
    second = ingest_file(engine, path)
    after = counts(engine)
    assert (first.inserted, first.quarantined) == (5, 1)
    assert (second.inserted, second.updated, second.unchanged, second.quarantined) == (0, 0, 5, 1)
    assert {k: after[k] for k in ("ticket", "ticket_event", "quarantine")} == {
        k: before[k] for k in ("ticket", "ticket_event", "quarantine")
    }
    assert after["ingest_run"] == before["ingest_run"] + 1  # the run itself is logged


def test_update_sets_removal_and_records_event(engine, tmp_path):
    ingest_file(engine, write_csv(tmp_path / "a.csv", [good_row(1), good_row(2)], HEADER))
    update = write_csv(
        tmp_path / "b.csv", [good_row(1, removed_at="2026-07-02T09:30:00+02:00", ip="")], HEADER
    )
    summary = ingest_file(engine, update)
    assert (summary.updated, summary.inserted, summary.unchanged) == (1, 0, 0)
    ticket, event = Ticket.__table__, TicketEvent.__table__
    with engine.connect() as connection:
        removed = connection.scalar(
            sa.select(ticket.c.removed_at).where(ticket.c.ticket_id == "T-000001")
        )
        ip = connection.scalar(sa.select(ticket.c.ip).where(ticket.c.ticket_id == "T-000001"))
        events = connection.execute(
            sa.select(event.c.field, event.c.old_value, event.c.new_value, event.c.run_id)
            .where(event.c.ticket_id == "T-000001")
            .order_by(event.c.id)
        ).all()
    assert removed.isoformat() == "2026-07-02T07:30:00+00:00"
    assert ip == "5.79.101.242"  # an empty cell never erases a known value
    assert [(e.field, e.old_value, e.new_value) for e in events] == [
        ("first_seen", None, None),
        ("removed_at", None, "2026-07-02T07:30:00Z"),
    ]
    assert events[1].run_id == summary.run_ids[0]


def test_update_that_breaks_a_rule_is_quarantined(engine, tmp_path):
    first = good_row(1, reported_at="2026-07-01T10:00:00Z", removed_at="2026-07-02T00:00:00Z")
    ingest_file(engine, write_csv(tmp_path / "a.csv", [first], HEADER))
    # Valid alone, but with the stored removal the ticket would be removed before its report.
    later_report = good_row(1, reported_at="2026-07-05T10:00:00Z", notified_at="")
    summary = ingest_file(engine, write_csv(tmp_path / "b.csv", [later_report], HEADER))
    assert (summary.updated, summary.quarantined) == (0, 1)
    assert summary.errors == [
        {
            "file": "b.csv",
            "line": 2,
            "reason": "update would make removed_at earlier than reported_at",
        }
    ]
    [row] = quarantine_rows(engine)
    assert json.loads(row["raw"])["reported_at"] == "2026-07-05T10:00:00Z"


def test_strict_writes_nothing(engine, tmp_path):
    path = write_csv(tmp_path / "s.csv", [good_row(1), good_row(2, ip="nope")], HEADER)
    with pytest.raises(StrictModeRejected) as info:
        ingest_file(engine, path, IngestOptions(strict=True))
    assert info.value.errors == [
        {"file": "s.csv", "line": 3, "reason": "ip: not a valid IPv4 or IPv6 address"}
    ]
    assert counts(engine) == {"ticket": 0, "ticket_event": 0, "quarantine": 0, "ingest_run": 0}


def test_timezone_option_reads_naive_times(engine, tmp_path):
    path = write_csv(
        tmp_path / "tz.csv", [good_row(1, reported_at="2026-07-01 10:00", notified_at="")], HEADER
    )
    summary = ingest_file(engine, path, IngestOptions(timezone="Europe/Amsterdam"))
    assert summary.inserted == 1
    with engine.connect() as connection:
        reported = connection.scalar(sa.select(Ticket.__table__.c.reported_at))
    assert reported.isoformat() == "2026-07-01T08:00:00+00:00"


def test_removed_before_notice_is_valid_and_counted(engine, tmp_path):
    row = good_row(
        1,
        reported_at="2026-07-01T10:00:00Z",
        notified_at="2026-07-01T12:00:00Z",
        removed_at="2026-07-01T11:00:00Z",
    )
    summary = ingest_file(engine, write_csv(tmp_path / "r.csv", [row, good_row(2)], HEADER))
    assert (summary.inserted, summary.quarantined, summary.removed_before_notice) == (2, 0, 1)


def test_unknown_columns_are_ignored_and_named(engine, tmp_path):
    rows = [{**good_row(1), "analyst": "x", "Priority": "high"}]
    summary = ingest_file(engine, write_csv(tmp_path / "u.csv", rows))
    assert summary.inserted == 1 and summary.ignored_columns == ["analyst", "priority"]


def test_jsonl_is_detected_and_broken_lines_quarantined(engine, tmp_path):
    rows = [
        good_row(1),
        '{"ticket_id": "T-2", broken',
        "[1, 2]",
        {**good_row(3), "ticket_id": 3},
        "",
        {**good_row(4), "ip": ["1.2.3.4"]},
    ]
    path = write_jsonl(tmp_path / "feed.txt", rows)
    summary = ingest_file(engine, path)
    assert summary.inserted == 2 and summary.quarantined == 3
    reasons = {e["line"]: e["reason"] for e in summary.errors}
    assert reasons[2].startswith("not valid JSON")
    assert reasons[3] == "not a JSON object"
    assert reasons[6] == "ip: expected text, got list"


def test_wrong_field_count_in_csv_is_quarantined(engine, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text(
        ",".join(HEADER) + "\nT-1," + url_hash(1) + ",2026-07-01T10:00:00Z\n", encoding="utf-8"
    )
    summary = ingest_file(engine, path)
    assert summary.errors == [
        {"file": "short.csv", "line": 2, "reason": "expected 10 fields, found 3"}
    ]


def test_a_latin1_file_is_refused_naming_what_was_found(engine, tmp_path):
    path = tmp_path / "latin1.csv"
    write_csv(path, [good_row(1, provider="Hébergement SARL"), good_row(2)], HEADER)
    path.write_bytes(path.read_bytes().replace("é".encode(), b"\xe9"))
    with pytest.raises(UnreadableInput) as caught:
        ingest_file(engine, path)
    assert str(caught.value) == (
        "latin1.csv: not UTF-8 (byte 0xE9 at offset 244; Latin-1 or Windows-1252?); "
        "save it as UTF-8 and ingest it again"
    )
    assert counts(engine)["ticket"] == 0


def test_undecodable_bytes_after_the_first_64_kib_are_quarantined(engine, tmp_path):
    path = tmp_path / "late.csv"
    rows = [good_row(n) for n in range(600)] + [good_row(9999, provider="Hébergement SARL")]
    write_csv(path, rows, HEADER)
    path.write_bytes(path.read_bytes().replace("é".encode(), b"\xe9"))
    assert path.stat().st_size > 64 * 1024
    summary = ingest_file(engine, path)
    assert summary.inserted == 600
    assert summary.errors[0]["reason"] == "provider: not valid UTF-8"


def test_url_column_is_refused_without_hash_urls(engine, tmp_path):
    rows = [{**good_row(1), "url": "http://secret.example/abuse/1.jpg"}]
    path = write_csv(tmp_path / "urls.csv", rows)
    with pytest.raises(RawUrlRefused, match="Give --hash-urls"):
        ingest_file(engine, path)
    assert counts(engine)["ticket"] == 0


def test_hash_urls_stores_only_the_hash(engine, tmp_path, db_url, caplog):
    secret = "http://secret.example/abuse/1.jpg"
    rows = [
        {**good_row(1, url_hash=""), "url": secret},
        {**good_row(2, url_hash="", reported_at="bad"), "url": secret + "?2"},
    ]
    caplog.set_level("DEBUG")
    summary = ingest_file(
        engine, write_csv(tmp_path / "urls.csv", rows), IngestOptions(hash_urls=True)
    )
    assert (summary.inserted, summary.quarantined) == (1, 1)
    import hashlib

    with engine.connect() as connection:
        stored = connection.scalar(sa.select(Ticket.__table__.c.url_hash))
        everything = _all_text(connection)
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert "secret.example" not in everything
    assert "secret.example" not in caplog.text
    if db_url.startswith("sqlite"):
        engine.dispose()
        db_file = db_url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):
            try:
                assert b"secret.example" not in open(db_file + suffix, "rb").read()
            except FileNotFoundError:
                pass


def _all_text(connection) -> str:
    parts = []
    for table in TABLES.values():
        for row in connection.execute(sa.select(table)):
            parts.append(json.dumps([str(v) for v in row]))
    return "\n".join(parts)


def test_interrupted_ingest_leaves_database_as_before(engine, tmp_path, monkeypatch):
    ingest_file(engine, write_csv(tmp_path / "first.csv", [good_row(n) for n in range(3)], HEADER))
    before = counts(engine)
    from monitor.ingest import ticket_writer

    calls = {"n": 0}
    original = ticket_writer.TicketWriter.write

    def crash_on_second_batch(self, records):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("injected crash mid-ingest")
        return original(self, records)

    monkeypatch.setattr(ticket_writer.TicketWriter, "write", crash_on_second_batch)
    rows = [good_row(n, removed_at="2026-07-03T00:00:00Z") for n in range(50)]
    with pytest.raises(RuntimeError, match="injected crash"):
        ingest_file(
            engine, write_csv(tmp_path / "big.csv", rows, HEADER), IngestOptions(batch_size=10)
        )
    after = counts(engine)
    assert {k: after[k] for k in ("ticket", "ticket_event", "quarantine")} == {
        k: before[k] for k in ("ticket", "ticket_event", "quarantine")
    }
    run = TABLES["ingest_run"]
    with engine.connect() as connection:
        failed = connection.execute(
            sa.select(run.c.status, run.c.error).where(run.c.status == "failed")
        ).one()
    assert "injected crash mid-ingest" in failed.error


def test_a_failed_ingest_records_and_logs_its_error_without_urls_or_credentials(
    engine, tmp_path, monkeypatch, caplog
):
    from monitor.ingest import ticket_writer
    from tests.core.test_redaction import assert_no_secret, leaky_message

    def crash(self, records):
        raise RuntimeError(leaky_message())

    monkeypatch.setattr(ticket_writer.TicketWriter, "write", crash)
    caplog.set_level("DEBUG")
    with pytest.raises(RuntimeError):
        ingest_file(engine, write_csv(tmp_path / "a.csv", [good_row(1)], HEADER))

    run = TABLES["ingest_run"]
    with engine.connect() as connection:
        error = connection.scalar(sa.select(run.c.error).where(run.c.status == "failed"))
        assert_no_secret(_all_text(connection))
    assert error.startswith("RuntimeError: lost connection to [redacted: raw URL] while checking")
    assert "Authorization: Bearer [redacted]" in error
    assert error.endswith("batch 3 of 7 rolled back")
    assert f"ingest of a.csv failed, nothing written: {error}" in caplog.text
    assert_no_secret(caplog.text)


def test_run_record_keeps_file_hash_counts_and_timing(engine, tmp_path):
    import hashlib

    path = write_csv(tmp_path / "a.csv", [good_row(1), good_row(2, ip="bad")], HEADER)
    summary = ingest_file(engine, path)
    run = TABLES["ingest_run"]
    with engine.connect() as connection:
        record = (
            connection.execute(sa.select(run).where(run.c.id == summary.run_ids[0]))
            .mappings()
            .one()
        )
    assert record["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (record["read"], record["inserted"], record["quarantined"], record["status"]) == (
        2,
        1,
        1,
        "ok",
    )
    assert record["finished_at"] >= record["started_at"]


def test_same_ticket_twice_in_one_file_is_an_update(engine, tmp_path):
    rows = [good_row(1), good_row(1, removed_at="2026-07-02T00:00:00Z")]
    summary = ingest_file(engine, write_csv(tmp_path / "twice.csv", rows, HEADER))
    assert (summary.inserted, summary.updated) == (1, 1)
    with engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(Ticket.__table__)) == 1


def test_sources_keep_ticket_ids_apart(engine, tmp_path):
    path = write_csv(tmp_path / "a.csv", [good_row(1)], HEADER)
    ingest_file(engine, path, IngestOptions(source="offlimits"))
    summary = ingest_file(engine, path, IngestOptions(source="iwf"))
    assert summary.inserted == 1 and counts(engine)["ticket"] == 2


def test_before_commit_writes_with_the_rows_or_not_at_all(engine):
    from monitor.ingest import ingest_rows

    def fails(connection, summary, run_id):
        assert summary.inserted == 1 and run_id is not None
        raise RuntimeError("cursor write failed")

    with pytest.raises(RuntimeError, match="cursor write failed"):
        ingest_rows(
            engine,
            [(1, good_row(1))],
            IngestOptions(),
            origin="feed page",
            fmt="feed",
            before_commit=fails,
        )
    assert counts(engine)["ticket"] == 0

    def saves(connection, summary, run_id):
        connection.execute(
            sa.update(IngestRun.__table__)
            .where(IngestRun.__table__.c.id == run_id)
            .values(error="cursor saved")
        )

    ingest_rows(
        engine,
        [(1, good_row(1))],
        IngestOptions(),
        origin="feed page",
        fmt="feed",
        before_commit=saves,
    )
    with engine.connect() as connection:
        notes = connection.scalars(
            sa.select(IngestRun.__table__.c.error).where(IngestRun.__table__.c.status == "ok")
        ).all()
    assert counts(engine)["ticket"] == 1 and notes == ["cursor saved"]


def test_new_tickets_join_the_resolution_queue_once(engine, tmp_path):
    def queued() -> list[tuple[str, str]]:
        with engine.connect() as connection:
            return sorted(
                tuple(row)
                for row in connection.exec_driver_sql(
                    "SELECT t.source, t.ticket_id FROM resolution_pending p "
                    "JOIN ticket t ON t.id = p.id"
                )
            )

    path = write_csv(tmp_path / "a.csv", [good_row(1), good_row(2)], HEADER)
    ingest_file(engine, path, IngestOptions(source="offlimits"))
    ingest_file(engine, path, IngestOptions(source="iwf"))  # same ids, another source
    update = write_csv(
        tmp_path / "b.csv",
        [good_row(1, removed_at="2026-07-02T09:30:00+02:00"), good_row(3)],
        HEADER,
    )
    ingest_file(engine, update, IngestOptions(source="offlimits"))  # one update, one new
    assert queued() == [
        ("iwf", "T-000001"),
        ("iwf", "T-000002"),
        ("offlimits", "T-000001"),
        ("offlimits", "T-000002"),
        ("offlimits", "T-000003"),
    ]


def test_a_source_over_the_bound_is_refused_alike_on_both_backends(cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", [good_row(1)], HEADER)
    result = cli("ingest", "--source", "s" * 65, path, ok=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --source must be 1 to 64 printable characters, got 65"
    assert "inserted 1" in cli("ingest", "--source", "s" * 64, path).stdout
