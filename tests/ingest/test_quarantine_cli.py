"""`monitor quarantine list|export`, and a corrected export re-ingested resolves its rows."""

from __future__ import annotations

import csv
import json

from tests.ticket_files import HEADER, good_row, write_csv


def _ingest(cli, path) -> dict:
    return json.loads(cli("ingest", path, "--json").stdout)


def _bad_file(tmp_path):
    rows = [
        good_row(1),
        good_row(2, ip="300.1.2.3"),
        good_row(3, country="Netherlands"),
        good_row(4, ticket_id=""),
        good_row(5),
    ]
    return write_csv(tmp_path / "hotline.csv", rows, HEADER)


def test_list_filters_by_reason_and_run(cli, tmp_path):
    first = _ingest(cli, _bad_file(tmp_path))
    assert first["quarantined"] == 3
    entries = json.loads(cli("quarantine", "list", "--json").stdout)
    assert [(e["line"], e["reason"], e["ticket_id"]) for e in entries] == [
        (3, "ip: not a valid IPv4 or IPv6 address", "T-000002"),
        (4, "country: not an ISO 3166-1 alpha-2 code", "T-000003"),
        (5, "missing required field: ticket_id", None),
    ]
    only_ip = json.loads(cli("quarantine", "list", "--json", "--reason", "VALID IPV4").stdout)
    assert [e["line"] for e in only_ip] == [3]
    run = first["run_ids"][0]
    assert len(json.loads(cli("quarantine", "list", "--json", "--run", run).stdout)) == 3
    assert json.loads(cli("quarantine", "list", "--json", "--run", run + 1).stdout) == []
    text = cli("quarantine", "list").stdout.splitlines()
    assert text[0] == "id     run   file:line  reason  [resolved by run]"
    assert text[1].endswith("hotline.csv:3  ip: not a valid IPv4 or IPv6 address")
    assert text[-1] == "3 rows, 3 open"


def test_a_corrected_export_resolves_the_rows_it_fixed_and_keeps_them(cli, tmp_path):
    _ingest(cli, _bad_file(tmp_path))
    exported = tmp_path / "fix.csv"
    result = cli("quarantine", "export", "--out", exported)
    assert "exported 3 quarantined rows" in result.output
    with exported.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*HEADER, "quarantine_id", "quarantine_line", "quarantine_reason"]
    assert [r["quarantine_reason"] for r in rows][0] == "ip: not a valid IPv4 or IPv6 address"
    rows[0]["ip"] = "5.79.101.242"
    rows[1]["country"] = "NL"
    with exported.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    second = _ingest(cli, exported)
    assert (second["inserted"], second["quarantined"]) == (2, 1)
    assert second["ignored_columns"] == list(
        ("quarantine_id", "quarantine_line", "quarantine_reason")
    )
    entries = json.loads(cli("quarantine", "list", "--json").stdout)
    resolved = {e["line"]: e["resolved_by_run"] for e in entries if e["resolved_at"]}
    assert resolved == {3: second["run_ids"][0], 4: second["run_ids"][0]}
    assert len(entries) == 4  # kept, not deleted; the still-bad row is quarantined again
    still_open = json.loads(cli("quarantine", "list", "--json", "--open").stdout)
    assert [e["reason"] for e in still_open] == ["missing required field: ticket_id"] * 2
    again = tmp_path / "again.jsonl"
    cli("quarantine", "export", "--json", "--out", again)
    assert len(again.read_text(encoding="utf-8").splitlines()) == 2


def test_export_neutralises_formulas_and_leaves_unreadable_lines_to_json(cli, tmp_path):
    path = tmp_path / "f.csv"
    write_csv(path, [good_row(1, ip="=HYPERLINK(1)")], HEADER)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("just,three,fields\n")
    _ingest(cli, path)
    result = cli("quarantine", "export")
    assert "'=HYPERLINK(1)" in result.stdout
    assert "1 unreadable lines are not columns and were left out of the CSV" in result.output
    lines = cli("quarantine", "export", "--json").stdout.splitlines()
    assert json.loads(lines[1])["line"] == "just,three,fields"
