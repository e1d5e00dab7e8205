"""Stored drift flags: one flag per episode that accumulates, acknowledgement by an analyst.

A flag's identity is its *key* (kind, subject, from/to jurisdiction; see
`monitor.drift.flags.identity_key`). A run that raises a key whose stored episode is still
open (not closed as of the run) and overlaps the run's window (`episode_from` ..
`window_to`) updates that flag instead of adding a new one, so a weekly or daily run with
a sliding window keeps one flag while the drift persists, and an acknowledgement stays.
An episode accumulates:

- `since` (`episode_from`): when it started: the earliest recent window that raised it,
  and for `url_relocated` the first re-report of its URLs (when the wave began);
- the union of its evidence lists over the runs (`url_hashes`, `re_reports`,
  `outside_tickets`), each capped at `evidence_max_items`, with `<list>_more` counting
  further items seen beyond the cap (an item dropped at the cap and seen again is counted
  again, so it is an upper bound);
- the latest statistics (counts, test, p-values), from the run with the latest `as_of`.

A later run that no longer raises an open episode closes it (`closed_at` = that run's
as-of time); a new episode of the same key starts only after that. Every stored run is
recorded in `drift_run`, so the reports read a period's flags from the store
(`flags_overlapping`) and know whether the drift check covered the period.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel

from monitor.core.redaction import redact_text
from monitor.core.timeutil import iso, parse_timestamp, utcnow
from monitor.store.models import UTCDateTime

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
    closed_at: datetime | None = Field(
        default=None,
        sa_type=UTCDateTime,
        nullable=True,
        description="as_of of the first later run that no longer raised it",
    )


class DriftRun(SQLModel, table=True):
    """One stored drift run: its as-of time, when it ran, and how many flags it raised."""

    __tablename__ = "drift_run"

    id: int | None = Field(default=None, primary_key=True)
    as_of: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ran_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    recent_days: int
    flags: int


FLAG = DriftFlag.__table__
RUN = DriftRun.__table__
# Evidence lists that accumulate over an episode, and how to tell their items apart.
UNION_LISTS = ("url_hashes", "re_reports", "outside_tickets")
DEFAULT_EVIDENCE_CAP = 200


def key_digest(key: tuple) -> str:
    """SHA-256 hex of an identity key (a tuple of JSON-able values)."""
    return hashlib.sha256(json.dumps(list(key), sort_keys=True).encode("utf-8")).hexdigest()


def _new_id(key: str, window: dict) -> str:
    return hashlib.sha256(f"{key}|{window['from']}|{window['to']}".encode()).hexdigest()[:ID_LENGTH]


def store_flags(
    engine: Engine,
    flags: list[dict],
    *,
    as_of: datetime,
    now: datetime | None = None,
    evidence_cap: int = DEFAULT_EVIDENCE_CAP,
    recent_days: int | None = None,
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
                stored = [_store_one(connection, flag, as_of, now, evidence_cap) for flag in flags]
                if recent_days is not None:  # a whole run: close what it no longer raises
                    _close_episodes(connection, {flag["id"] for flag in stored}, as_of)
                    connection.execute(
                        RUN.insert().values(
                            as_of=as_of, ran_at=now, recent_days=recent_days, flags=len(stored)
                        )
                    )
                return stored
        except IntegrityError:
            if attempt == STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _close_episodes(connection: Connection, raised: set[str], as_of: datetime) -> None:
    """Close the open episodes that a run later than their figures no longer raised."""
    query = FLAG.update().where(FLAG.c.closed_at.is_(None), FLAG.c.as_of < as_of)
    if raised:
        query = query.where(FLAG.c.id.not_in(sorted(raised)))
    connection.execute(query.values(closed_at=as_of))


def _union(old: list, new: list, old_more: int, cap: int) -> tuple[list, int]:
    """`old` then the items of `new` not in it, capped; and how many lie beyond the cap."""
    seen = {json.dumps(item, sort_keys=True) for item in old}
    merged = list(old)
    more = old_more
    for item in new:
        text = json.dumps(item, sort_keys=True)
        if text in seen:
            continue
        seen.add(text)
        if len(merged) < cap:
            merged.append(item)
        else:
            more += 1
    return merged, more


def merge_evidence(stored: dict, latest: dict, cap: int, latest_is_newer: bool) -> dict:
    """The episode's evidence: the latest statistics, the union of its evidence lists."""
    merged = dict(latest if latest_is_newer else stored)
    for name in UNION_LISTS:
        if name not in stored and name not in latest:
            continue
        items, more = _union(
            stored.get(name, []), latest.get(name, []), int(stored.get(f"{name}_more", 0)), cap
        )
        merged[name] = items
        merged[f"{name}_more"] = more
        if f"{name}_truncated" in merged:
            merged[f"{name}_truncated"] = bool(
                more or stored.get(f"{name}_truncated") or latest.get(f"{name}_truncated")
            )
    spans = [e["re_reported"] for e in (stored, latest) if isinstance(e.get("re_reported"), dict)]
    if spans:
        merged["re_reported"] = {
            "from": min(span["from"] for span in spans),
            "to": max(span["to"] for span in spans),
        }
    if "url_hashes" in merged and "re_reports" in merged:
        merged["tickets"] = len(merged["re_reports"]) + merged.get("re_reports_more", 0)
    return merged


def _episode_start(flag: dict, window_from: datetime) -> datetime:
    """When the episode began: its window's start, or the first re-report of its URLs."""
    span = flag["evidence"].get("re_reported")
    if isinstance(span, dict) and span.get("from"):
        return parse_timestamp(span["from"])
    return window_from


def _store_one(
    connection: Connection, flag: dict, as_of: datetime, now: datetime, cap: int
) -> dict:
    window_from = parse_timestamp(flag["window"]["from"])
    window_to = parse_timestamp(flag["window"]["to"])
    stored = (
        connection.execute(
            sa.select(FLAG)
            .where(
                FLAG.c.key == flag["key"],
                FLAG.c.episode_from < window_to,
                FLAG.c.window_to > window_from,
                sa.or_(FLAG.c.closed_at.is_(None), FLAG.c.closed_at > as_of),
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
    episode_from = _episode_start(flag, window_from)
    if stored is None:
        flag_id = _new_id(flag["key"], flag["window"])
        evidence = merge_evidence({}, flag["evidence"], cap, True)
        figures["evidence"] = json.dumps(evidence, ensure_ascii=False)
        connection.execute(
            FLAG.insert().values(
                id=flag_id,
                key=flag["key"],
                episode_from=episode_from,
                first_seen=now,
                last_seen=now,
                status=OPEN,
                **figures,
            )
        )
        status, detail, since = OPEN, flag["detail"], episode_from
    else:
        flag_id, status = stored["id"], stored["status"]
        newer = as_of >= stored["as_of"]
        evidence = merge_evidence(json.loads(stored["evidence"]), flag["evidence"], cap, newer)
        since = min(episode_from, stored["episode_from"])
        changes: dict = {"last_seen": max(now, stored["last_seen"]), "episode_from": since}
        if newer:
            changes.update(figures)
        else:
            flag = {**flag, "detail": stored["detail"]}
        detail = _episode_detail(flag, evidence)
        changes["evidence"] = json.dumps(evidence, ensure_ascii=False)
        changes["detail"] = detail
        connection.execute(FLAG.update().where(FLAG.c.id == flag_id).values(**changes))
    public = {name: value for name, value in flag.items() if name != "key"}
    public.update(evidence=evidence, detail=detail, since=iso(since))
    return {"id": flag_id, "status": status, **public}


def _episode_detail(flag: dict, evidence: dict) -> str:
    """The flag's sentence; for `url_relocated` retold over the episode's URLs."""
    if flag["kind"] != "url_relocated":
        return flag["detail"]
    from monitor.drift.hosting import url_sentence

    note = flag["detail"].find("; the INHOPE status")
    sentence = url_sentence(flag["from"], flag["to"], evidence)
    return sentence[:-1] + flag["detail"][note:] if note >= 0 else sentence


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
        "since": iso(row["episode_from"]),
        "closed_at": iso(row["closed_at"]),
        "first_seen": iso(row["first_seen"]),
        "last_seen": iso(row["last_seen"]),
        "acknowledgement": None
        if row["status"] != ACKNOWLEDGED
        else {"note": row["ack_note"], "by": row["ack_by"], "at": iso(row["ack_at"])},
    }


def drift_runs(engine: Engine, *, start: datetime, end: datetime) -> list[dict]:
    """Stored runs whose recent window overlaps [start, end): as_of, ran_at, flags."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(RUN).where(RUN.c.as_of > start).order_by(RUN.c.as_of)
        ).mappings()
        return [
            {"as_of": iso(row["as_of"]), "ran_at": iso(row["ran_at"]), "flags": row["flags"]}
            for row in rows
            if row["as_of"] - timedelta(days=row["recent_days"]) < end
        ]


def flags_overlapping(engine: Engine, *, start: datetime, end: datetime) -> list[dict]:
    """Every stored flag whose episode overlaps [start, end): it began before `end` and was
    still raised (its latest window ends) at or after `start`."""
    query = (
        sa.select(FLAG)
        .where(FLAG.c.episode_from < end, FLAG.c.window_to >= start)
        .order_by(FLAG.c.kind, FLAG.c.subject, FLAG.c.id)
    )
    with engine.connect() as connection:
        return [_public(row) for row in connection.execute(query).mappings()]
