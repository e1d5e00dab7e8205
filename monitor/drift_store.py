"""Stored drift flags: a stable identity per episode, acknowledgement by an analyst.

A flag's identity is its *key* (kind, subject, from/to jurisdiction; see
`monitor.drift_flags.identity_key`) plus the window it was first raised for. A later run
whose window overlaps the stored episode (`episode_from` .. `window_to`) updates that
flag instead of adding a new one, so a daily run with a sliding window keeps one flag
while the drift persists, and an acknowledgement stays. A drift that ends and comes back
after a gap longer than the window is a new episode with a new id.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from monitor.models import UTCDateTime
from monitor.redaction import redact_text
from monitor.timeutil import iso, parse_timestamp, utcnow

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
ID_LENGTH = 16
MIN_ID_PREFIX = 6
STORE_ATTEMPTS = 3


class DriftFlag(SQLModel, table=True):
    """One drift flag as last computed, with when it was first/last raised and its status."""

    __tablename__ = "drift_flag"

    id: str = Field(primary_key=True, max_length=ID_LENGTH)
    key: str = Field(max_length=64, index=True, description="SHA-256 of kind, subject, from/to")
    kind: str = Field(max_length=32)
    subject: str = Field(max_length=255)
    from_jurisdiction: str = Field(description="JSON object: country, eu, inhope, ...")
    to_jurisdiction: str = Field(description="JSON object: country, eu, inhope, ...")
    episode_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    window_from: datetime = Field(sa_type=UTCDateTime, nullable=False)
    window_to: datetime = Field(sa_type=UTCDateTime, nullable=False)
    detail: str
    evidence: str = Field(description="JSON object")
    as_of: datetime = Field(
        sa_type=UTCDateTime, nullable=False, description="as_of of the stored figures"
    )
    first_seen: datetime = Field(
        sa_type=UTCDateTime, nullable=False, description="first run that raised it"
    )
    last_seen: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    status: str = Field(default=OPEN, max_length=16, index=True)
    ack_note: str | None = None
    ack_by: str | None = Field(default=None, max_length=128)
    ack_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


FLAG = DriftFlag.__table__


def key_digest(key: tuple) -> str:
    """SHA-256 hex of an identity key (a tuple of JSON-able values)."""
    return hashlib.sha256(json.dumps(list(key), sort_keys=True).encode("utf-8")).hexdigest()


def _new_id(key: str, window: dict) -> str:
    return hashlib.sha256(f"{key}|{window['from']}|{window['to']}".encode()).hexdigest()[:ID_LENGTH]


def store_flags(
    engine: Engine, flags: list[dict], *, as_of: datetime, now: datetime | None = None
) -> list[dict]:
    """Insert or update each computed flag; returns them with their `id` and `status` added.

    Each flag dict carries the contract keys plus `key` (from `key_digest`). Figures of a
    stored flag are replaced only by a run with the same or a later `as_of`, so re-deriving
    an old date never overwrites newer evidence. A run that loses the race to insert the
    same new flag as a concurrent run (a primary-key conflict) starts again and then
    meets the stored row.
    """
    now = now or utcnow()
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                return [_store_one(connection, flag, as_of, now) for flag in flags]
        except IntegrityError:
            if attempt == STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _store_one(connection: Connection, flag: dict, as_of: datetime, now: datetime) -> dict:
    window_from = parse_timestamp(flag["window"]["from"])
    window_to = parse_timestamp(flag["window"]["to"])
    stored = (
        connection.execute(
            sa.select(FLAG)
            .where(
                FLAG.c.key == flag["key"],
                FLAG.c.episode_from < window_to,
                FLAG.c.window_to > window_from,
            )
            .order_by(FLAG.c.window_to.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    figures = {
        "kind": flag["kind"],
        "subject": flag["subject"],
        "from_jurisdiction": json.dumps(flag["from"], ensure_ascii=False),
        "to_jurisdiction": json.dumps(flag["to"], ensure_ascii=False),
        "window_from": window_from,
        "window_to": window_to,
        "detail": flag["detail"],
        "evidence": json.dumps(flag["evidence"], ensure_ascii=False),
        "as_of": as_of,
    }
    if stored is None:
        flag_id = _new_id(flag["key"], flag["window"])
        connection.execute(
            FLAG.insert().values(
                id=flag_id,
                key=flag["key"],
                episode_from=window_from,
                first_seen=now,
                last_seen=now,
                status=OPEN,
                **figures,
            )
        )
        status = OPEN
    else:
        flag_id, status = stored["id"], stored["status"]
        changes: dict = {
            "last_seen": max(now, stored["last_seen"]),
            "episode_from": min(window_from, stored["episode_from"]),
        }
        if as_of >= stored["as_of"]:
            changes.update(figures)
        connection.execute(FLAG.update().where(FLAG.c.id == flag_id).values(**changes))
    public = {name: value for name, value in flag.items() if name != "key"}
    return {"id": flag_id, "status": status, **public}


def acknowledge(
    engine: Engine, flag_id: str, *, note: str, by: str, now: datetime | None = None
) -> dict:
    """Mark a stored flag acknowledged with the analyst's note; later runs keep it so.

    `flag_id` may be a unique prefix of at least 6 characters. Anything URL-shaped in the
    note is redacted before it is stored (no raw URLs, ever). Acknowledging again
    replaces the note. Raises LookupError for an unknown or ambiguous id.
    """
    note = redact_text(note.strip())
    if not note:
        raise ValueError("an acknowledgement needs a note saying why")
    with engine.begin() as connection:
        row = _find(connection, flag_id)
        connection.execute(
            FLAG.update()
            .where(FLAG.c.id == row["id"])
            .values(
                status=ACKNOWLEDGED,
                ack_note=note,
                ack_by=redact_text(by)[:128],
                ack_at=now or utcnow(),
            )
        )
        return _public(
            connection.execute(sa.select(FLAG).where(FLAG.c.id == row["id"])).mappings().one()
        )


def _find(connection: Connection, flag_id: str):
    text = flag_id.strip().lower()
    if not re.fullmatch(f"[0-9a-f]{{{MIN_ID_PREFIX},{ID_LENGTH}}}", text):
        raise LookupError(
            f"flag id {flag_id!r} is not a flag id: "
            f"give at least {MIN_ID_PREFIX} of its hex characters"
        )
    rows = connection.execute(sa.select(FLAG.c.id).where(FLAG.c.id.like(text + "%")).limit(2)).all()
    if not rows:
        raise LookupError(f"no drift flag with id {flag_id!r} (see `monitor drift list --all`)")
    if len(rows) > 1:
        raise LookupError(f"flag id {flag_id!r} is ambiguous: give more characters")
    return connection.execute(sa.select(FLAG).where(FLAG.c.id == rows[0].id)).mappings().one()


def list_flags(engine: Engine, *, include_acknowledged: bool = False) -> list[dict]:
    """Stored flags, most recently raised first; open ones only unless asked for all."""
    query = sa.select(FLAG).order_by(
        FLAG.c.last_seen.desc(), FLAG.c.kind, FLAG.c.subject, FLAG.c.id
    )
    if not include_acknowledged:
        query = query.where(FLAG.c.status == OPEN)
    with engine.connect() as connection:
        return [_public(row) for row in connection.execute(query).mappings()]


def _public(row) -> dict:
    return {
        "id": row["id"],
        "status": row["status"],
        "kind": row["kind"],
        "subject": row["subject"],
        "detail": row["detail"],
        "from": json.loads(row["from_jurisdiction"]),
        "to": json.loads(row["to_jurisdiction"]),
        "window": {"from": iso(row["window_from"]), "to": iso(row["window_to"])},
        "evidence": json.loads(row["evidence"]),
        "as_of": iso(row["as_of"]),
        "first_seen": iso(row["first_seen"]),
        "last_seen": iso(row["last_seen"]),
        "acknowledgement": None
        if row["status"] != ACKNOWLEDGED
        else {"note": row["ack_note"], "by": row["ack_by"], "at": iso(row["ack_at"])},
    }
