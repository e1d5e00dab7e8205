"""The workbench's own tables: its accounts and the audit log of every change it makes.

Accounts hold an argon2 hash, never a password. The audit log is append-only: the
workbench never updates or deletes a row of it, and every change it makes to the
monitor's data (an acknowledgement, a reference correction, an alias, a merge) writes
one row in the same request, saying who, when, what and on which target.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from monitor.store.models import UTCDateTime

ROLES = ("viewer", "analyst")


class WebUser(SQLModel, table=True):
    """A workbench account: a name, a role (viewer or analyst) and an argon2 password hash."""

    __tablename__ = "web_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AuditEntry(SQLModel, table=True):
    """One change made through the workbench: who, when, which action, on what, and why."""

    __tablename__ = "web_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    who: str = Field(max_length=64)
    action: str = Field(max_length=32)
    target: str = Field(max_length=255)
    note: str = Field(default="")


USER = WebUser.__table__
AUDIT = AuditEntry.__table__
