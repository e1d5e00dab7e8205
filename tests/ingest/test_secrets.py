"""Credentials, tokens and raw URLs planted in every input position never come out again.

Values, column names, JSON keys, broken lines and file names carry secrets; after ingesting
(and refusing) such files with `--verbose`, and listing and exporting the quarantine, none of
them is in the database files (SQLite file and WAL, read as bytes; every PostgreSQL row), the
logs, stdout/stderr or the exports. Runs the real command line in a child process.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.ticket_files import HEADER, good_row

TAGS = "FN1 FN2 FN3 COL1 COL2 COL3 COL4 V1 V2 V3 V4 V5 V6 V7 V8 V9 V10 V11 V12 V13 J1 J2 J3 J4 J5"
SECRETS = [f"SECRET{tag}" for tag in TAGS.split()]
ROOT = Path(__file__).resolve().parents[2]


def _csv(rows: list[dict], header: list[str]) -> str:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _files(folder: Path) -> list[Path]:
    header = [
        *HEADER,
        "https://u:SECRETCOL1@evil.example/SECRETCOL2",
        "api_key=SECRETCOL3",
        "notes",
    ]
    rows = [
        good_row(1, notes="see hxxps[:]//evil[.]example/SECRETV1 and token=SECRETV2"),
        good_row(2, provider="https://user:SECRETV3@evil.example/SECRETV4?tok=1"),
        good_row(3, ip="https://user:SECRETV5@evil.example/secretpath?SECRETV6"),
        good_row(4, hostname="//evil.example/SECRETV7"),
        good_row(5, url_hash="10.6.6.6/SECRETV8/y.jpg"),
        good_row(6, ticket_id="user:SECRETV9@evil.example"),
        good_row(7, country="password=SECRETV10"),
        good_row(8, notes="signature=SECRETV13&sig=2"),
    ]
    text = _csv(rows, header)
    text += "T-x,https://evil.example/SECRETV11,a\n"
    text += _csv([good_row(9, provider='"evil.example/SECRETV12/x.jpg')], header).split("\n", 1)[1]
    first = folder / "token=SECRETFN1.csv"
    first.write_text(text, encoding="utf-8")

    lines = [
        json.dumps({**good_row(11, ticket_id="J1"), "Authorization": "Bearer SECRETJ1"}),
        json.dumps(
            {**good_row(12, ticket_id="J2"), "reported_at": "x", "notes": "//e.example/SECRETJ2"}
        ),
        '{"ticket_id": "J3", "x": "https://evil.example/SECRETJ3',
        json.dumps({**good_row(13, ticket_id="J4"), "https://evil.example/SECRETJ4": 1}),
        json.dumps({**good_row(14, ticket_id="J5"), "ip": "user:SECRETJ5@10.0.0.1"}),
    ]
    second = folder / "u:SECRETFN2@evil.example.jsonl"
    second.write_text("\n".join(lines) + "\n", encoding="utf-8")

    refused = folder / "secret=SECRETFN3.csv"
    refused.write_text(
        _csv([good_row(20)], [*HEADER, "token=SECRETCOL4", "TOKEN=SECRETCOL4"]), encoding="utf-8"
    )
    return [first, second, refused]


def _monitor(db_url: str, *args: str, ok: bool = True) -> tuple[str, str]:
    code = "import sys; from monitor.cli import main; sys.argv = ['monitor'] + sys.argv[1:]; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, "--db", db_url, "--verbose", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert "Traceback" not in done.stderr, done.stderr
    if ok:
        assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def _database_text(db_url: str) -> bytes:
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(
            candidate.read_bytes()
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if candidate.exists()
        )
    engine = sa.create_engine(db_url)
    chunks = []
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            for table in tables:
                for row in connection.exec_driver_sql(f'SELECT * FROM "{table}"'):
                    chunks.append(repr(tuple(row)))
    finally:
        engine.dispose()
    return "\n".join(chunks).encode()


def test_no_planted_secret_comes_out_anywhere(db_url, tmp_path):
    first, second, refused = _files(tmp_path)
    exported = tmp_path / "quarantine.jsonl"
    outputs = [
        _monitor(db_url, "ingest", first, "--json"),
        _monitor(db_url, "ingest", second),
        _monitor(db_url, "ingest", refused, ok=False),
        _monitor(db_url, "quarantine", "list"),
        _monitor(db_url, "quarantine", "list", "--json"),
        _monitor(db_url, "quarantine", "export"),
        _monitor(db_url, "quarantine", "export", "--json", "--out", exported),
        _monitor(db_url, "tickets", "export", "--format", "csv"),
        _monitor(db_url, "status", "--json"),
    ]
    summary = json.loads(outputs[0][0])
    assert summary["inserted"] == 2 and summary["quarantined"] == 8
    errors = [line for line in outputs[2][1].splitlines() if line.startswith("error:")]
    assert errors == [
        "error: secret=[redacted]: duplicate column names (case and spaces ignored): "
        "token=[redacted]; each column may appear once"
    ]
    assert "INFO" in outputs[0][1]  # the --verbose log is part of what was checked
    text = "\n".join(out + err for out, err in outputs) + exported.read_text(encoding="utf-8")
    database = _database_text(db_url)
    assert "[redacted" in text and b"[redacted" in database
    leaks = [s for s in SECRETS if s in text or s.encode() in database]
    assert leaks == []
    lowered = text.lower()
    assert "evil.example/" not in lowered and "hunter" not in lowered
