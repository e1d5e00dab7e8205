"""Tables of the resolution stage: one table, one class.

    prefix_source          one imported RouteViews pfx2as + AS-names data version
    prefix_entry           the prefixes of the active version (older versions are retired)
    as_name                AS number -> name, registered country, registry, per version
    ip_resolution          what one resolver said about one IP under one data version (history)
    provider               canonical providers a scorecard row names
    provider_alias         normalised name -> canonical provider (auto, analyst or merge)
    jurisdiction_override  an analyst's correction of the EU/INHOPE tables, with a source note

Per-IP results are kept per data version, so a new data version never rewrites
what a ticket was resolved to; tickets copy their result once (monitor.store.models.Ticket).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from monitor.store.models import UTCDateTime


class PrefixSource(SQLModel, table=True):
    """One import of a prefix-to-AS table and its AS names: a data version."""

    __tablename__ = "prefix_source"
    __table_args__ = (sa.UniqueConstraint("version", name="uq_prefix_source_version"),)

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64, description="pfx2as-<date or digest>")
    data_date: date | None = Field(default=None, description="date the files describe, when known")
    sha256: str = Field(max_length=64, description="digest of the three files together")
    source_v4: str = Field(max_length=255)
    source_v6: str | None = Field(default=None, max_length=255)
    source_asnames: str = Field(max_length=255)
    prefixes_v4: int = 0
    prefixes_v6: int = 0
    as_names: int = 0
    rejected_lines: int = 0
    imported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class PrefixEntry(SQLModel, table=True):
    """One announced prefix of the active data version.

    The network address is split in two signed 64-bit halves (`net_hi`, `net_lo`),
    so IPv6 fits in BIGINT columns; an IPv4 network is `net_hi = 0`, `net_lo = address`.
    """

    __tablename__ = "prefix_entry"

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="prefix_source.id", index=True)
    family: int = Field(sa_type=sa.SmallInteger)
    net_hi: int = Field(sa_type=sa.BigInteger)
    net_lo: int = Field(sa_type=sa.BigInteger)
    length: int = Field(sa_type=sa.SmallInteger)
    asn: int | None = Field(default=None, sa_type=sa.BigInteger)
    origin: str | None = Field(
        default=None, max_length=255, description="raw origin field for MOAS / AS sets"
    )


class AsName(SQLModel, table=True):
    """An AS number's organisation name, registered country and registry."""

    __tablename__ = "as_name"

    source_id: int = Field(foreign_key="prefix_source.id", primary_key=True)
    asn: int = Field(sa_type=sa.BigInteger, primary_key=True)
    name: str = Field(max_length=255)
    country: str | None = Field(default=None, max_length=2)
    rir: str | None = Field(default=None, max_length=16, description="regional internet registry")


class IpResolution(SQLModel, table=True):
    """What one resolver said about one IP under one data version."""

    __tablename__ = "ip_resolution"
    __table_args__ = (
        sa.UniqueConstraint("source", "data_version", "ip", name="uq_ip_resolution_version_ip"),
        sa.Index("ix_ip_resolution_source_ip", "source", "ip"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ip: str = Field(max_length=45)
    source: str = Field(max_length=32, description="embedded, prefix_table, rdap")
    data_version: str = Field(max_length=128)
    status: str = Field(max_length=16, description="ok, not_found")
    asn: int | None = Field(default=None, sa_type=sa.BigInteger)
    network: str | None = Field(default=None, max_length=255)
    prefix: str | None = Field(default=None, max_length=49)
    geo_country: str | None = Field(default=None, max_length=2)
    registered_country: str | None = Field(default=None, max_length=2)
    rir: str | None = Field(default=None, max_length=16, description="regional internet registry")
    detail: str | None = Field(default=None, max_length=255)
    resolved_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Provider(SQLModel, table=True):
    """A canonical provider: the name a scorecard row carries."""

    __tablename__ = "provider"
    __table_args__ = (sa.UniqueConstraint("name", name="uq_provider_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    merged_into_id: int | None = Field(default=None, foreign_key="provider.id")
    note: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ProviderAlias(SQLModel, table=True):
    """A normalised provider name (the key) and the canonical provider it stands for."""

    __tablename__ = "provider_alias"
    __table_args__ = (sa.UniqueConstraint("key", name="uq_provider_alias_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255)
    provider_id: int = Field(foreign_key="provider.id", index=True)
    origin: str = Field(max_length=16, description="auto, analyst, merge")
    note: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class JurisdictionOverride(SQLModel, table=True):
    """An analyst's correction of one country's EU or INHOPE membership.

    Rows of the newest `batch` for a (country, kind) replace the shipped rows
    of that country; older batches are kept as the record of what was believed.
    """

    __tablename__ = "jurisdiction_override"
    __table_args__ = (sa.Index("ix_jurisdiction_override_key", "country", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    country: str = Field(max_length=2)
    kind: str = Field(max_length=8, description="eu or inhope")
    member: str = Field(max_length=8, description="yes, no, unknown")
    since: date | None = None
    until: date | None = None
    confidence: str = Field(max_length=16, description="confirmed, likely, uncertain")
    source_note: str
    batch: int
    set_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ProviderSizeFigure(SQLModel, table=True):
    """An analyst's own size figure for a provider (announced addresses), used instead of
    the prefix table's count. Rows of the newest `batch` for a provider win; older ones stay
    as the record of what was used before (`monitor providers size import`)."""

    __tablename__ = "provider_size"
    __table_args__ = (sa.Index("ix_provider_size_provider", "provider", "batch"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=255, description="canonical provider name")
    addresses: int = Field(sa_type=sa.BigInteger, description="IPv4 addresses the figure counts")
    source: str | None = Field(default=None, max_length=255, description="where it came from")
    origin: str = Field(max_length=255, description="file name of the import")
    batch: int
    imported_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AsSize(SQLModel, table=True):
    """Announced IPv4 addresses of one AS in one prefix-table version (overlaps counted once),
    computed on first use of the version (providers.address_space)."""

    __tablename__ = "as_size"

    source_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    asn: int = Field(sa_type=sa.BigInteger, primary_key=True)
    addresses: int = Field(sa_type=sa.BigInteger)
