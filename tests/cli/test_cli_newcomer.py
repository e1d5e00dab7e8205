"""A newcomer's first commands: one-line errors, --db as a path, --version, help that reads.

Every usage error is exactly one line `error: ...` on stderr with exit code 2, no traceback
and none of the box characters typer draws by default.
"""

from __future__ import annotations

import importlib.metadata
import json
import sqlite3

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import monitor.store.status
from monitor.cli import DEBUG_VAR, app
from monitor.store.db import make_engine
from monitor.store.schema import known_heads, upgrade
from tests.ticket_files import HEADER, good_row, write_csv

BOX = ("╭", "│", "╰", "─")


def assert_one_error_line(result, first_line: str, code: int = 2) -> None:
    """The whole stderr is `first_line`; no box, no traceback; stdout empty."""
    assert result.exit_code == code, result.output
    assert result.stderr == first_line + "\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert not any(char in result.output for char in BOX)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(app, list(map(str, args)), input=input)


def test_an_unknown_option_is_one_line(sqlite_cli):
    assert_one_error_line(
        sqlite_cli("status", "--bogus", ok=False),
        "error: no such option: --bogus: see `monitor status --help`",
    )


def test_a_missing_argument_is_one_line(sqlite_cli):
    assert_one_error_line(
        sqlite_cli("providers", "merge", "Only One", ok=False),
        "error: missing argument 'target': see `monitor providers merge --help`",
    )


def test_an_option_without_its_value_is_one_line(sqlite_cli):
    assert_one_error_line(
        sqlite_cli("scorecard", "--period", ok=False),
        "error: option '--period' requires an argument: see `monitor scorecard --help`",
    )


def test_a_missing_input_file_is_one_line(sqlite_cli, tmp_path):
    missing = tmp_path / "nope.csv"
    result = sqlite_cli("ingest", missing, ok=False)
    assert_one_error_line(result, "error: nope.csv: no such file; check the path")


def test_a_global_option_after_the_command_says_where_it_goes(tmp_path):
    result = run("status", "--db", tmp_path / "x.db")
    assert_one_error_line(
        result,
        "error: --db is a global option: give it before the command (monitor --db ... status)",
    )


def test_no_command_prints_the_help_and_exits_2():
    result = run()
    assert result.exit_code == 2 and "Usage: " in result.output and "Traceback" not in result.output


def test_db_takes_a_plain_file_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("--db", "relative.db", "init").exit_code == 0
    assert (tmp_path / "relative.db").is_file()
    absolute = tmp_path / "sub" / "absolute.db"
    assert run("--db", absolute, "init").exit_code == 0
    status = run("--db", absolute, "status", "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["tickets"] == 0


def test_a_password_with_an_unescaped_at_never_leaks(tmp_path):
    result = run("--db", "postgresql://monitor:TAIL@SECRET99@127.0.0.1:1/m", "status")
    assert_one_error_line(
        result,
        "error: the password in the database URL 'postgresql://monitor:***@127.0.0.1:1/m' "
        "holds an '@': write it as %40",
    )
    assert "SECRET99" not in result.output and "TAIL" not in result.output


@pytest.mark.postgres
def test_an_unreachable_database_is_one_line_without_the_password(monkeypatch):
    monkeypatch.delenv(DEBUG_VAR, raising=False)
    result = run("--db", "postgresql://monitor:p%40ss@127.0.0.1:1/m", "status")
    assert result.exit_code == 1
    line = result.stderr.splitlines()
    assert len(line) == 1 and line[0].startswith(
        "error: database error (postgresql://monitor:***@127.0.0.1:1/m): "
    )
    assert "p%40ss" not in result.output and "p@ss" not in result.output
    assert line[0].endswith(f"(set {DEBUG_VAR}=1 for the details)")


def _failing_status(monkeypatch, failure: Exception) -> None:
    def failing(engine):
        raise failure

    monkeypatch.setattr(monitor.store.status, "store_status", failing)


def test_a_database_error_is_one_line_without_sql_or_parameters(sqlite_cli, monkeypatch):
    monkeypatch.delenv(DEBUG_VAR, raising=False)
    _failing_status(
        monkeypatch,
        sa.exc.OperationalError(
            "SELECT secret_column FROM ticket WHERE url_hash = ?",
            ("param-secret",),
            sqlite3.OperationalError("no such table: ticket"),
        ),
    )
    result = sqlite_cli("status", ok=False)
    assert_one_error_line(
        result,
        f"error: database error ({sqlite_cli.db_url}): no such table: ticket "
        f"(set {DEBUG_VAR}=1 for the details)",
        code=1,
    )
    assert "secret_column" not in result.output and "param-secret" not in result.output


def test_a_writer_that_gave_up_on_the_lock_says_so(sqlite_cli, monkeypatch):
    monkeypatch.delenv(DEBUG_VAR, raising=False)
    _failing_status(
        monkeypatch,
        sa.exc.OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked")),
    )
    assert_one_error_line(
        sqlite_cli("status", ok=False),
        "error: the database is busy: another monitor command held its write lock for 60 s "
        f"and this one gave up; try again when it has finished (set {DEBUG_VAR}=1 for the "
        "details)",
        code=1,
    )


def test_monitor_debug_shows_the_whole_database_error(sqlite_cli, monkeypatch):
    monkeypatch.setenv(DEBUG_VAR, "1")
    _failing_status(
        monkeypatch, sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("boom"))
    )
    result = sqlite_cli("status", ok=False)
    assert isinstance(result.exception, sa.exc.OperationalError)


def test_a_schema_newer_than_the_monitor_says_upgrade_the_monitor(empty_db_url):
    engine = make_engine(empty_db_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('9999')")
    newest = max(known_heads(engine))
    engine.dispose()
    message = (
        "error: the database schema is at revision 9999, newer than this monitor knows "
        f"(its newest is {newest}): upgrade the monitor"
    )
    assert_one_error_line(run("--db", empty_db_url, "status"), message)
    assert_one_error_line(run("--db", empty_db_url, "init"), message)


def test_a_missing_schema_sends_the_user_to_init(tmp_path):
    assert_one_error_line(
        run("--db", tmp_path / "new.db", "status"),
        "error: the database schema is missing or outdated: run `monitor init` first",
    )


def test_init_names_the_one_revision_it_reached(tmp_path):
    result = run("--db", tmp_path / "m.db", "init")
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    assert result.stdout == f"schema ready at revision {max(known_heads(engine))}\n"
    engine.dispose()


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout == f"monitor {importlib.metadata.version('takedown-monitor')}\n"


def test_help_shows_brackets_and_says_to_is_exclusive():
    help_text = " ".join(run("scorecard", "--help").stdout.split())
    assert "[statistics]" in help_text and "\\[" not in help_text
    assert "exclusive" in help_text


def test_out_into_a_missing_folder_creates_it(cli, tmp_path):
    out = tmp_path / "new" / "folder" / "tickets.jsonl"
    result = cli("tickets", "export", "--out", out)
    assert result.stderr == f"wrote 0 tickets to {out}\n" and out.read_text() == ""


def test_out_under_a_file_is_a_clear_error(sqlite_cli, tmp_path):
    (tmp_path / "afile").write_text("x")
    out = tmp_path / "afile" / "x.csv"
    assert_one_error_line(
        sqlite_cli("tickets", "export", "--out", out, ok=False),
        f"error: --out '{out}': '{tmp_path / 'afile'}' is not a folder",
    )


def test_ingest_then_status_on_a_path_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run("--db", "m.db", "init")
    path = write_csv(tmp_path / "a.csv", [good_row(1), good_row(2)], HEADER)
    assert run("--db", "m.db", "ingest", path).exit_code == 0
    assert json.loads(run("--db", "m.db", "status", "--json").stdout)["tickets"] == 2
