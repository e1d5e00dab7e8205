"""The store's commands as a user runs them: init, ingest, tickets export, status."""

from __future__ import annotations

import csv
import io
import json

from monitor.store.export import EXPORT_COLUMNS
from tests.ticket_files import HEADER, good_row, write_csv, write_jsonl

CONTRACT_SUMMARY_KEYS = {
    "read",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "ignored_columns",
    "errors",
}


def test_ingest_json_summary_has_the_contract_keys(cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", [good_row(1), good_row(2, url_hash="x")], HEADER)
    summary = json.loads(cli("ingest", path, "--json").stdout)
    assert CONTRACT_SUMMARY_KEYS <= set(summary)
    assert (summary["read"], summary["inserted"], summary["quarantined"]) == (2, 1, 1)
    assert summary["errors"] == [
        {"file": "a.csv", "line": 3, "reason": "url_hash: not 64 hex characters (got 1 characters)"}
    ]


def test_ingest_of_several_files_and_sources(cli, tmp_path):
    a = write_csv(tmp_path / "a.csv", [good_row(1)], HEADER)
    b = write_jsonl(tmp_path / "b.jsonl", [good_row(2)])
    summary = json.loads(cli("ingest", a, b, "--source", "iwf", "--json").stdout)
    assert summary["inserted"] == 2
    assert "inserted 0" in cli("ingest", a, "--source", "iwf").stdout


def test_url_column_is_refused_with_a_clear_message(cli, tmp_path):
    path = write_csv(
        tmp_path / "u.csv", [{**good_row(1, url_hash=""), "url": "http://secret.example/x"}]
    )
    result = cli("ingest", path, ok=False)
    assert result.exit_code == 2
    assert "has a 'url' column (raw URLs); refusing to ingest it" in result.output
    assert "secret.example" not in result.output
    assert json.loads(cli("ingest", path, "--hash-urls", "--json").stdout)["inserted"] == 1


def test_strict_exit_code_and_listing(cli, tmp_path):
    path = write_csv(tmp_path / "s.csv", [good_row(1), good_row(2, ip="nope")], HEADER)
    result = cli("ingest", path, "--strict", ok=False)
    assert result.exit_code == 1
    assert "--strict and 1 bad row(s); nothing was written" in result.output
    assert "line 3: ip: not a valid IPv4 or IPv6 address" in result.output
    assert json.loads(cli("status", "--json").stdout)["tickets"] == 0


def test_bad_timezone_is_a_configuration_error(cli, tmp_path):
    path = write_csv(tmp_path / "a.csv", [good_row(1)], HEADER)
    result = cli("ingest", path, "--timezone", "Mars/Olympus", ok=False)
    assert result.exit_code == 2 and "unknown time zone 'Mars/Olympus'" in result.output


def test_export_has_the_contract_columns_in_both_formats(cli, tmp_path):
    cli(
        "ingest",
        write_csv(
            tmp_path / "a.csv",
            [good_row(2), good_row(1, removed_at="2026-07-02T00:00:00Z")],
            HEADER,
        ),
    )
    rows = list(csv.DictReader(io.StringIO(cli("tickets", "export").stdout)))
    assert (
        tuple(rows[0])
        == EXPORT_COLUMNS
        == (
            "source",
            "ticket_id",
            "url_hash",
            "reported_at",
            "notified_at",
            "removed_at",
            "checked_at",
            "ip",
            "hostname",
            "registered_domain",
            "provider",
            "asn",
            "network",
            "country",
            "eu",
            "inhope",
            "dns_ip",  # the monitor's addition, after the contract's columns
        )
    )
    assert [r["ticket_id"] for r in rows] == ["T-000001", "T-000002"]
    assert rows[0]["removed_at"] == "2026-07-02T00:00:00Z" and rows[1]["removed_at"] == ""
    out = tmp_path / "t.jsonl"
    cli("tickets", "export", "--format", "jsonl", "--out", out)
    objects = [json.loads(line) for line in out.read_text().splitlines()]
    assert [tuple(o) for o in objects] == [EXPORT_COLUMNS] * 2
    assert objects[0]["reported_at"] == "2026-07-01T10:00:00Z"


def test_status_counts(cli, tmp_path):
    rows = [good_row(1), good_row(2, removed_at="2026-07-02T00:00:00Z"), good_row(3, ip="bad")]
    cli("ingest", write_csv(tmp_path / "a.csv", rows, HEADER))
    facts = json.loads(cli("status", "--json").stdout)
    assert {k: facts[k] for k in ("tickets", "open", "unresolved", "quarantined")} == {
        "tickets": 2,
        "open": 1,
        "unresolved": 2,
        "quarantined": 1,
    }
    assert facts["last_ingest"]["origin"] == "a.csv"
    assert "tickets: 2" in cli("status").stdout


def test_init_creates_the_schema(empty_db_url):
    from tests.conftest import Cli

    result = Cli(empty_db_url)("init")
    assert "schema ready at revision" in result.stdout


def test_status_shows_the_last_job_runs(cli, monkeypatch):
    import monitor.drift

    def broken(*_args, **_kwargs):
        raise RuntimeError("drift stage exploded")

    monkeypatch.setattr(monitor.drift, "run_drift", broken)
    cli("schedule", "run-once", "drift", ok=False)
    facts = json.loads(cli("status", "--json").stdout)
    drift = next(job for job in facts["jobs"] if job["job"] == "drift")
    assert drift["outcome"] == "failed" and "drift stage exploded" in drift["error"]
    assert "job drift: last run" in cli("status").stdout
