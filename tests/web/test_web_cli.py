"""`monitor users add|list` and `monitor serve`'s refusal to bind beyond loopback without
an account; the workbench's tables match their migration."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from monitor.web.accounts import authenticate
from monitor.web.models import USER


def test_users_add_stores_an_argon2_hash_never_the_password(cli, engine):
    result = cli(
        "users",
        "add",
        "ana",
        "--role",
        "analyst",
        "--password-stdin",
        input="a long enough passphrase\n",
    )
    assert "account ana (analyst) saved" in result.output
    with engine.connect() as connection:
        stored = connection.execute(sa.select(USER.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "passphrase" not in stored
    assert authenticate(engine, "ana", "a long enough passphrase")["role"] == "analyst"
    assert authenticate(engine, "ana", "a long enough passphrasE") is None
    assert "ana  analyst" in cli("users", "list").output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name!", "--role", "viewer"), "an account name is 1-64 letters"),
        (("ana", "--role", "admin"), "unknown role 'admin'; use viewer or analyst"),
    ],
)
def test_users_add_refuses_bad_names_and_roles(sqlite_cli, args, message):
    result = sqlite_cli(
        "users", "add", *args, "--password-stdin", ok=False, input="a long enough passphrase\n"
    )
    assert result.exit_code == 2 and message in result.output


def test_users_add_refuses_a_short_password(sqlite_cli):
    result = sqlite_cli(
        "users", "add", "ana", "--role", "viewer", "--password-stdin", ok=False, input="short\n"
    )
    assert result.exit_code == 2
    assert "error: a password has 12 to 1024 characters" in result.output


def test_serve_refuses_a_public_address_without_an_account(sqlite_cli):
    result = sqlite_cli("serve", "--host", "0.0.0.0", ok=False)
    assert result.exit_code == 2
    assert "error: refusing to serve on 0.0.0.0" in result.output
    assert "monitor users add NAME --role analyst" in result.output


def test_the_workbench_tables_match_their_migration(engine):
    import monitor.web.models  # noqa: F401

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    mine = [d for d in diff if "web_" in repr(d)]
    assert mine == []


def test_demo_ends_with_the_command_that_opens_its_database(tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--tickets", "600"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    url = f"sqlite:///{(out / 'monitor.db').resolve()}"
    assert last == (
        f"workbench: monitor --db {url} users add analyst --role analyst && "
        f"monitor --db {url} serve  (then open http://127.0.0.1:8765/)"
    )


def test_a_database_url_with_a_password_is_never_printed():
    from pathlib import Path

    from monitor.web.launch import workbench_command

    line = workbench_command("postgresql+psycopg://u:secret@db/monitor", Path("demo"))
    assert "secret" not in line and '--db "$MONITOR_DATABASE_URL" serve' in line
