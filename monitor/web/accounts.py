"""Workbench accounts and the audit log: argon2-hashed passwords, append-only change records.

Names and notes are outside text: a name is limited to letters, digits and `._-`, and a
note is redacted (no URL is ever stored) and cut to a bound before it is kept.
"""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError
from monitor.core.redaction import redact_text
from monitor.core.timeutil import iso, utcnow
from monitor.web.models import AUDIT, ROLES, USER

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
NOTE_LIMIT = 2000
TARGET_LIMIT = 255
_HASHER = PasswordHasher()
# Verifying against this when the name is unknown makes a wrong name cost as much time as a
# wrong password, so the login form does not tell which names exist.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


def check_name(name: str) -> str:
    """The account name if it is 1-64 of letters, digits, `.`, `_`, `-` (starting alphanumeric)."""
    if not NAME.fullmatch(name or ""):
        raise ConfigurationError(
            "an account name is 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    return name


def add_user(engine: Engine, name: str, role: str, password: str) -> int:
    """Create an account (or replace the password and role of an existing one); returns its id."""
    check_name(name)
    if role not in ROLES:
        raise ConfigurationError(f"unknown role {role!r}; use {' or '.join(ROLES)}")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigurationError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    digest = _HASHER.hash(password)
    with engine.begin() as connection:
        existing = connection.scalar(sa.select(USER.c.id).where(USER.c.name == name))
        if existing is not None:
            connection.execute(
                USER.update().where(USER.c.id == existing).values(role=role, password_hash=digest)
            )
            return int(existing)
        return int(
            connection.execute(
                USER.insert().values(
                    name=name, role=role, password_hash=digest, created_at=utcnow()
                )
            ).inserted_primary_key[0]
        )


def authenticate(engine: Engine, name: str, password: str) -> dict | None:
    """The account `{id, name, role}` when name and password match, else None."""
    if not NAME.fullmatch(name or "") or len(password) > MAX_PASSWORD:
        return None
    with engine.connect() as connection:
        row = connection.execute(sa.select(USER).where(USER.c.name == name)).mappings().first()
    try:
        _HASHER.verify(row["password_hash"] if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    return {"id": row["id"], "name": row["name"], "role": row["role"]}


def get_user(engine: Engine, user_id: int) -> dict | None:
    """The account `{id, name, role}` with this id, or None."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(USER.c.id, USER.c.name, USER.c.role).where(USER.c.id == user_id)
        ).first()
    return None if row is None else {"id": row.id, "name": row.name, "role": row.role}


def count_users(engine: Engine) -> int:
    """How many accounts exist."""
    with engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(USER)))


def list_users(engine: Engine) -> list[dict]:
    """Every account's name, role and creation time (never the hash)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(USER.c.name, USER.c.role, USER.c.created_at).order_by(USER.c.name)
        ).all()
    return [{"name": r.name, "role": r.role, "created_at": iso(r.created_at)} for r in rows]


def record(
    engine: Engine,
    *,
    who: str,
    action: str,
    target: str,
    note: str = "",
    at: datetime | None = None,
) -> None:
    """Append one audit entry: called right after the stage function made the change (each
    stage function commits its own transaction)."""
    with engine.begin() as connection:
        connection.execute(
            AUDIT.insert().values(
                at=at or utcnow(),
                who=who[:64],
                action=action[:32],
                target=redact_text(target)[:TARGET_LIMIT],
                note=redact_text(note)[:NOTE_LIMIT],
            )
        )


def audit_entries(engine: Engine, *, limit: int = 500) -> list[dict]:
    """The newest audit entries first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(AUDIT).order_by(AUDIT.c.at.desc(), AUDIT.c.id.desc()).limit(limit)
        ).mappings()
        return [
            {
                "at": iso(r["at"]),
                "who": r["who"],
                "action": r["action"],
                "target": r["target"],
                "note": r["note"],
            }
            for r in rows
        ]


def proxy_user(engine: Engine, name: str) -> dict | None:
    """Reverse-proxy mode: the account the proxy named, or a viewer of that name without one.

    An account in the table gives its role (so analysts are still listed by the monitor);
    any other name the proxy authenticated may look but not change.
    """
    name = name.strip()
    if not NAME.fullmatch(name):
        return None
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(USER.c.id, USER.c.name, USER.c.role).where(USER.c.name == name)
        ).first()
    if row is None:
        return {"id": None, "name": name, "role": "viewer"}
    return {"id": row.id, "name": row.name, "role": row.role}
