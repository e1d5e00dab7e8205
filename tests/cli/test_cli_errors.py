"""How the console entry point reports failures: one line, nothing secret, the right exit code."""

from __future__ import annotations

import sys

import pytest

import monitor.store.status
from monitor.cli import DEBUG_VAR, main
from monitor.core.errors import ConfigurationError
from monitor.store.db import make_engine
from monitor.store.schema import upgrade

SECRET_MESSAGE = (
    "feed said: see https://files.example.net/a/b.jpg?session=s3cret and "
    "postgresql://monitor:hunter2@db.internal/monitor"
)


def _status_command(monkeypatch, tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    upgrade(make_engine(url))
    monkeypatch.setattr(sys, "argv", ["monitor", "--db", url, "status"])


def _run(monkeypatch, tmp_path, failure: Exception) -> int:
    def failing(engine):
        raise failure

    monkeypatch.setattr(monitor.store.status, "store_status", failing)
    _status_command(monkeypatch, tmp_path)
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code


def test_an_unexpected_error_prints_one_redacted_line_and_exits_1(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(DEBUG_VAR, raising=False)
    assert _run(monkeypatch, tmp_path, RuntimeError(SECRET_MESSAGE)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected RuntimeError: feed said: see ")
    assert f"set {DEBUG_VAR}=1 for the traceback" in err and "Traceback" not in err
    for secret in ("files.example.net", "b.jpg", "s3cret", "hunter2", "db.internal"):
        assert secret not in err


def test_a_known_error_exits_2_with_its_message(monkeypatch, tmp_path, capsys):
    assert _run(monkeypatch, tmp_path, ConfigurationError("no such schedule: x")) == 2
    assert capsys.readouterr().err == "error: no such schedule: x\n"


def test_the_debug_variable_lets_the_exception_through(monkeypatch, tmp_path):
    monkeypatch.setenv(DEBUG_VAR, "1")
    monkeypatch.setattr(
        monitor.store.status, "store_status", lambda engine: (_ for _ in ()).throw(KeyError("boom"))
    )
    _status_command(monkeypatch, tmp_path)
    with pytest.raises(KeyError, match="boom"):
        main()
