"""The provider registry: which canonical provider a scorecard row names.

Default: the provider the hotline stated (the notice recipient), normalised and
mapped through aliases; else the network's organisation; else `unknown`. When
the hotline named no provider and the network is a CDN/proxy, the provider is
`unknown (behind <operator>)`: the CDN fronts the site, it does not host it.

Every normalised name (`names.name_key`) has one alias row pointing at a
provider. New names get a provider of their own automatically; analysts add
aliases and merge providers, and existing tickets are re-mapped (that is naming,
not history: the resolution facts of a ticket never change).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from monitor.errors import ConfigurationError
from monitor.models import RESOLUTION, TICKET, UTCDateTime
from monitor.timeutil import iso, utcnow
from providers.bulk import driver_value
from providers.cdn import cdn_operator
from providers.models import Provider, ProviderAlias
from providers.names import clean_text, display_name, name_key

PROVIDER = Provider.__table__
ALIAS = ProviderAlias.__table__
UNKNOWN = "unknown"


def behind(operator: str) -> str:
    """The provider name of a ticket seen only through a CDN/proxy."""
    return f"{UNKNOWN} (behind {operator})"


class AliasMap:
    """Name key -> canonical provider name, loaded once; new keys are queued for creation."""

    def __init__(self, mapping: dict[str, str], names: dict[str, str]):
        self.mapping = mapping  # key -> provider name
        self.names = names  # provider name -> itself, following merges (name -> final name)
        self.new: dict[str, str] = {}  # key -> display name, for keys not yet in the registry

    @classmethod
    def load(cls, connection: Connection) -> AliasMap:
        """The registry as it is in the database."""
        providers = {
            row.id: (row.name, row.merged_into_id)
            for row in connection.execute(sa.select(PROVIDER))
        }
        final = {pid: _final(providers, pid) for pid in providers}
        mapping = {
            row.key: providers[final[row.provider_id]][0]
            for row in connection.execute(sa.select(ALIAS.c.key, ALIAS.c.provider_id))
        }
        names = {name: providers[final[pid]][0] for pid, (name, _) in providers.items()}
        return cls(mapping, names)

    def name_for(self, text: str | None) -> str | None:
        """Canonical name for a stated or network name; None when the text normalises to nothing."""
        key = name_key(text)
        if not key:
            return None
        if key in self.mapping:
            return self.mapping[key]
        if key not in self.new:
            shown = display_name(text) or key
            self.new[key] = self.names.get(shown, shown)
        return self.new[key]

    def canonical(self, stated: str | None, network: str | None, operator: str | None) -> str:
        """The canonical provider of one ticket (see the module docstring)."""
        name = self.name_for(stated) if stated else None  # empty text names nothing
        if name:
            return name
        if operator:
            return behind(operator)
        return self.name_for(network) or UNKNOWN


def _final(providers: dict[int, tuple[str, int | None]], pid: int) -> int:
    seen = set()
    while providers[pid][1] is not None and pid not in seen:
        seen.add(pid)
        pid = providers[pid][1]
    return pid


def save_new_names(connection: Connection, aliases: AliasMap, now: datetime) -> int:
    """Create providers and `auto` aliases for the keys first seen in this run; returns how many.

    In bulk, straight through the driver: a run can meet tens of thousands of new
    names (building SQLAlchemy parameter sets for them cost more than the inserts).
    A name a concurrent run registered first is kept as that run registered it.
    """
    if not aliases.new:
        return 0
    stamp = driver_value(connection, UTCDateTime(), now)
    names = sorted(set(aliases.new.values()))
    _insert_or_ignore(connection, PROVIDER, ("name", "created_at"), [(n, stamp) for n in names])
    ids = _final_ids(connection)
    keys = sorted(aliases.new)
    before = connection.scalar(sa.select(sa.func.count()).select_from(ALIAS))
    _insert_or_ignore(
        connection,
        ALIAS,
        ("key", "provider_id", "origin", "created_at"),
        [(key, ids[aliases.new[key]], "auto", stamp) for key in keys],
    )
    created = connection.scalar(sa.select(sa.func.count()).select_from(ALIAS)) - before
    aliases.mapping.update(aliases.new)
    aliases.new.clear()
    return created


def _insert_or_ignore(
    connection: Connection, table: sa.Table, columns: tuple[str, ...], rows: list[tuple]
) -> None:
    """Insert `rows` (driver values in `columns` order), skipping those whose unique key exists."""
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    values = f"({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if connection.dialect.name == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table.name} {values}"
    else:
        sql = f"INSERT INTO {table.name} {values} ON CONFLICT DO NOTHING"
    connection.exec_driver_sql(sql, rows)


def _final_ids(connection: Connection) -> dict[str, int]:
    """Provider name -> id of the provider it ended up in (itself unless merged)."""
    providers = {
        pid: (name, merged)
        for pid, name, merged in connection.execute(
            sa.select(PROVIDER.c.id, PROVIDER.c.name, PROVIDER.c.merged_into_id)
        )
    }
    return {name: _final(providers, pid) for pid, (name, _) in providers.items()}


def _provider_id(connection: Connection, name: str, now: datetime, *, create: bool) -> int | None:
    """Id of the provider called `name` (following merges); created when asked to."""
    row = connection.execute(
        sa.select(PROVIDER.c.id, PROVIDER.c.merged_into_id).where(PROVIDER.c.name == name)
    ).first()
    if row is None:
        if not create:
            return None
        stamp = driver_value(connection, UTCDateTime(), now)
        _insert_or_ignore(connection, PROVIDER, ("name", "created_at"), [(name, stamp)])
        row = connection.execute(
            sa.select(PROVIDER.c.id, PROVIDER.c.merged_into_id).where(PROVIDER.c.name == name)
        ).one()
    pid, merged = row
    while merged is not None:
        pid, merged = connection.execute(
            sa.select(PROVIDER.c.id, PROVIDER.c.merged_into_id).where(PROVIDER.c.id == merged)
        ).one()
    return pid


def _canonical_text(name: str) -> str:
    text = clean_text(name)
    if not text or not name_key(text):
        raise ConfigurationError(f"not a usable provider name: {name!r}")
    if text.casefold().startswith(UNKNOWN):
        raise ConfigurationError(f"{UNKNOWN!r} is reserved for tickets without a provider")
    return text


def add_alias(
    engine: Engine,
    alias: str,
    canonical: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Make `alias` (any spelling) name the provider `canonical`; re-map existing tickets.

    The canonical provider is created when it does not exist yet (its own
    spelling then also maps to it, unless that spelling already names another).
    """
    now = now or utcnow()
    key = name_key(alias)
    if not key:
        raise ConfigurationError(f"not a usable provider name: {alias!r}")
    target = _canonical_text(canonical)
    with engine.begin() as connection:
        provider_id = _provider_id(connection, target, now, create=True)
        _point_alias(connection, key, provider_id, "analyst", note, now)
        own = name_key(target)
        if connection.scalar(sa.select(ALIAS.c.id).where(ALIAS.c.key == own)) is None:
            _point_alias(connection, own, provider_id, "analyst", note, now)
        name = connection.scalar(sa.select(PROVIDER.c.name).where(PROVIDER.c.id == provider_id))
    remapped = remap_providers(engine)
    return {"alias": clean_text(alias), "key": key, "provider": name, "tickets_remapped": remapped}


def _point_alias(
    connection: Connection, key: str, provider_id: int, origin: str, note: str | None, now: datetime
) -> None:
    existing = connection.scalar(sa.select(ALIAS.c.id).where(ALIAS.c.key == key))
    values = {"provider_id": provider_id, "origin": origin, "note": note}
    if existing is None:
        connection.execute(ALIAS.insert().values(key=key, created_at=now, **values))
    else:
        connection.execute(ALIAS.update().where(ALIAS.c.id == existing).values(**values))


def merge_providers(
    engine: Engine,
    source: str,
    target: str,
    *,
    note: str | None = None,
    now: datetime | None = None,
) -> dict:
    """Fold provider `source` into `target` (created if new: a merge into a new name is a rename).

    All of the source's aliases then name the target; the source row stays, marked merged.
    """
    now = now or utcnow()
    target_text = _canonical_text(target)
    with engine.begin() as connection:
        source_id = _provider_id(connection, clean_text(source), now, create=False)
        if source_id is None:
            raise ConfigurationError(
                f"no provider named {clean_text(source)!r} (see `monitor providers list`)"
            )
        target_id = _provider_id(connection, target_text, now, create=True)
        if source_id == target_id:
            raise ConfigurationError("a provider cannot be merged into itself")
        moved = connection.execute(
            ALIAS.update()
            .where(ALIAS.c.provider_id == source_id)
            .values(provider_id=target_id, origin="merge")
        ).rowcount
        connection.execute(
            PROVIDER.update()
            .where(PROVIDER.c.id == source_id)
            .values(merged_into_id=target_id, note=note)
        )
        name = connection.scalar(sa.select(PROVIDER.c.name).where(PROVIDER.c.id == target_id))
    remapped = remap_providers(engine)
    return {
        "merged": clean_text(source),
        "into": name,
        "aliases_moved": moved,
        "tickets_remapped": remapped,
    }


def remap_providers(engine: Engine) -> int:
    """Recompute the provider of resolved tickets (`ticket_resolution.provider`); returns
    tickets changed."""
    changed = 0
    with engine.begin() as connection:
        aliases = AliasMap.load(connection)
        groups = connection.execute(
            sa.select(
                TICKET.c.stated_provider,
                RESOLUTION.c.network,
                RESOLUTION.c.asn,
                RESOLUTION.c.cdn,
                RESOLUTION.c.provider,
            )
            .select_from(RESOLUTION.join(TICKET, TICKET.c.id == RESOLUTION.c.id))
            .distinct()
        ).all()
        for stated, network, asn, cdn, current in groups:
            operator = cdn_operator(asn, [network]) if cdn else None
            if cdn and operator is None and current and current.startswith(UNKNOWN):
                continue  # marked CDN by a name no longer known here: keep the name given then
            wanted = aliases.canonical(stated, network, operator)
            if wanted == current:
                continue
            stated_so = sa.exists().where(
                TICKET.c.id == RESOLUTION.c.id, _same(TICKET.c.stated_provider, stated)
            )
            changed += connection.execute(
                RESOLUTION.update()
                .where(
                    _same(RESOLUTION.c.network, network),
                    _same(RESOLUTION.c.asn, asn),
                    _same(RESOLUTION.c.cdn, cdn),
                    _same(RESOLUTION.c.provider, current),
                    stated_so,
                )
                .values(provider=wanted)
            ).rowcount
        save_new_names(connection, aliases, utcnow())
    return changed


def _same(column, value):
    return column.is_(None) if value is None else column == value


def list_providers(engine: Engine) -> list[dict]:
    """Canonical providers (merged ones left out) with their aliases and ticket counts."""
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                sa.select(RESOLUTION.c.provider, sa.func.count())
                .where(RESOLUTION.c.provider.is_not(None))
                .group_by(RESOLUTION.c.provider)
            ).all()
        )
        aliases: dict[int, list[str]] = {}
        for key, pid in connection.execute(
            sa.select(ALIAS.c.key, ALIAS.c.provider_id).order_by(ALIAS.c.key)
        ):
            aliases.setdefault(pid, []).append(key)
        rows = connection.execute(
            sa.select(PROVIDER).where(PROVIDER.c.merged_into_id.is_(None)).order_by(PROVIDER.c.name)
        ).mappings()
        listed = [
            {
                "name": row["name"],
                "tickets": counts.pop(row["name"], 0),
                "aliases": aliases.get(row["id"], []),
            }
            for row in rows
        ]
    # Names on tickets that are not registry providers: unknown, unknown (behind X).
    listed += [
        {"name": name, "tickets": count, "aliases": []} for name, count in sorted(counts.items())
    ]
    return listed


def show_provider(engine: Engine, name: str) -> dict:
    """One provider: aliases (with who made them), merged providers, networks and countries seen."""
    text = clean_text(name)
    with engine.connect() as connection:
        row = (
            connection.execute(sa.select(PROVIDER).where(PROVIDER.c.name == text))
            .mappings()
            .first()
        )
        if row is None and not text.startswith(UNKNOWN):
            raise ConfigurationError(f"no provider named {text!r} (see `monitor providers list`)")
        facts: dict = {"name": text}
        if row is not None:
            if row["merged_into_id"] is not None:
                facts["merged_into"] = connection.scalar(
                    sa.select(PROVIDER.c.name).where(PROVIDER.c.id == row["merged_into_id"])
                )
            facts["created_at"] = iso(row["created_at"])
            facts["aliases"] = [
                {"key": a.key, "origin": a.origin, "note": a.note}
                for a in connection.execute(
                    sa.select(ALIAS).where(ALIAS.c.provider_id == row["id"]).order_by(ALIAS.c.key)
                )
            ]
            facts["merged_from"] = list(
                connection.scalars(
                    sa.select(PROVIDER.c.name)
                    .where(PROVIDER.c.merged_into_id == row["id"])
                    .order_by(PROVIDER.c.name)
                )
            )
        mine = RESOLUTION.c.provider == text
        facts["tickets"] = connection.scalar(
            sa.select(sa.func.count()).select_from(RESOLUTION).where(mine)
        )
        behind_cdn = sa.and_(mine, RESOLUTION.c.cdn.is_(True))
        facts["behind_cdn"] = connection.scalar(
            sa.select(sa.func.count()).select_from(RESOLUTION).where(behind_cdn)
        )
        facts["networks"] = [
            {"asn": asn, "network": network, "tickets": count}
            for asn, network, count in connection.execute(
                sa.select(RESOLUTION.c.asn, RESOLUTION.c.network, sa.func.count().label("n"))
                .where(mine)
                .group_by(RESOLUTION.c.asn, RESOLUTION.c.network)
                .order_by(sa.desc("n"))
                .limit(20)
            )
        ]
        facts["countries"] = [
            {"country": country, "tickets": count}
            for country, count in connection.execute(
                sa.select(RESOLUTION.c.country, sa.func.count().label("n"))
                .where(mine)
                .group_by(RESOLUTION.c.country)
                .order_by(sa.desc("n"))
                .limit(20)
            )
        ]
    return facts
