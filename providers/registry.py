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

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import iso, utcnow
from monitor.store.models import RESOLUTION, TICKET, UTCDateTime
from providers.bulk import driver_value
from providers.cdn import cdn_operator
from providers.models import Provider, ProviderAlias
from providers.names import base_key, clean_text, display_name, name_key

PROVIDER = Provider.__table__
ALIAS = ProviderAlias.__table__
UNKNOWN = "unknown"


def behind(operator: str) -> str:
    """The provider name of a ticket seen only through a CDN/proxy."""
    return f"{UNKNOWN} (behind {operator})"


class AliasMap:
    """Name key -> canonical provider name, loaded once; new keys are queued for creation.

    A key not in the registry still joins a provider when it is a national subsidiary
    of it or the company of one (`names.base_key`): "Leaseweb Netherlands B.V." joins
    "LeaseWeb", and "LeaseWeb" joins "Leaseweb Netherlands" when that is the only
    "Leaseweb <country>" provider. An analyst's alias of the exact key always wins.
    """

    def __init__(self, mapping: dict[str, str], names: dict[str, str]):
        self.mapping = mapping  # key -> provider name
        self.names = names  # provider name -> itself, following merges (name -> final name)
        self.new: dict[str, str] = {}  # key -> display name, for keys not yet in the registry
        self.subsidiaries: dict[str, set[str]] = {}  # base key -> providers of its longer keys
        for key, name in mapping.items():
            self._note(key, name)

    def _note(self, key: str, name: str) -> None:
        base = base_key(key)
        if base != key:
            self.subsidiaries.setdefault(base, set()).add(name)

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

    def _known(self, key: str) -> str | None:
        return self.mapping.get(key) or self.new.get(key)

    def name_for(self, text: str | None) -> str | None:
        """Canonical name for a stated or network name; None when the text normalises to nothing."""
        key = name_key(text)
        if not key:
            return None
        known = self._known(key)
        if known is not None:
            return known
        base = base_key(key)
        name = self._known(base) if base != key else None
        if name is None:
            family = self.subsidiaries.get(key, set())
            name = next(iter(family)) if len(family) == 1 else None
        if name is None:
            shown = display_name(text) or key
            name = self.names.get(shown, shown)
        self.new[key] = name
        self._note(key, name)
        return name

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
    A provider left without any spelling by this is folded into `canonical` (marked
    merged), so no empty provider stays behind in the list.
    """
    now = now or utcnow()
    with engine.begin() as connection:
        result = _add_alias(connection, alias, canonical, note, now)
    result["tickets_remapped"] = remap_providers(engine)
    return result


def add_aliases_from_file(engine: Engine, path, *, now: datetime | None = None) -> dict:
    """Load aliases in bulk from a CSV file with the columns `alias,canonical[,note]`.

    All rows in one transaction (a bad row rejects the file, naming its line), then one
    re-mapping of the tickets. Returns the count of aliases and tickets re-mapped.
    """
    import csv

    now = now or utcnow()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.DictReader(handle, dialect=dialect))
    if not rows or not {"alias", "canonical"} <= set(rows[0]):
        raise ConfigurationError(
            f"{path}: needs a header row with the columns alias,canonical (and optionally note)"
        )
    with engine.begin() as connection:
        for line, row in enumerate(rows, start=2):
            try:
                _add_alias(
                    connection,
                    row["alias"] or "",
                    row["canonical"] or "",
                    (row.get("note") or None),
                    now,
                )
            except ConfigurationError as exc:
                raise ConfigurationError(f"{path} line {line}: {exc}; nothing loaded") from None
    return {"aliases": len(rows), "tickets_remapped": remap_providers(engine)}


def _add_alias(
    connection: Connection, alias: str, canonical: str, note: str | None, now: datetime
) -> dict:
    key = name_key(alias)
    if not key:
        raise ConfigurationError(f"not a usable provider name: {alias!r}")
    target = _canonical_text(canonical)
    found = find_provider(connection, target, subsidiaries=False)
    provider_id = (
        found["id"] if found is not None else _provider_id(connection, target, now, create=True)
    )
    before = connection.scalar(sa.select(ALIAS.c.provider_id).where(ALIAS.c.key == key))
    _point_alias(connection, key, provider_id, "analyst", note, now)
    own = name_key(target)
    if connection.scalar(sa.select(ALIAS.c.id).where(ALIAS.c.key == own)) is None:
        _point_alias(connection, own, provider_id, "analyst", note, now)
    if before is not None and before != provider_id:
        _fold_if_empty(connection, before, provider_id)
    name = connection.scalar(sa.select(PROVIDER.c.name).where(PROVIDER.c.id == provider_id))
    return {"alias": clean_text(alias), "key": key, "provider": name}


def _fold_if_empty(connection: Connection, provider_id: int, into_id: int) -> None:
    """Mark a provider that no spelling names any more as merged into `into_id`."""
    remaining = connection.scalar(
        sa.select(sa.func.count()).select_from(ALIAS).where(ALIAS.c.provider_id == provider_id)
    )
    if remaining == 0:
        connection.execute(
            PROVIDER.update()
            .where(PROVIDER.c.id == provider_id, PROVIDER.c.merged_into_id.is_(None))
            .values(merged_into_id=into_id, note="all its spellings became aliases of another")
        )


def _subsidiary_of(connection: Connection, key: str) -> int | None:
    """The one provider whose spellings are `key` plus a country ("leaseweb" ->
    "leaseweb netherlands"), None when there is none or more than one."""
    if not key:
        return None
    pattern = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
    found = {
        pid
        for longer, pid in connection.execute(
            sa.select(ALIAS.c.key, ALIAS.c.provider_id).where(
                ALIAS.c.key.like(pattern, escape="\\")
            )
        )
        if base_key(longer) == key
    }
    return found.pop() if len(found) == 1 else None


def find_provider(connection: Connection, name: str, *, subsidiaries: bool = True) -> dict | None:
    """The provider a user means by `name`: its exact name, else the name in any case,
    else the provider the spelling is an alias of, else the one national subsidiary of
    that spelling (following merges). None when none is."""
    text = clean_text(name)
    if not text:
        return None
    query = sa.select(PROVIDER.c.id, PROVIDER.c.name, PROVIDER.c.merged_into_id)
    row = connection.execute(query.where(PROVIDER.c.name == text)).mappings().first()
    if row is None:
        row = (
            connection.execute(
                query.where(sa.func.lower(PROVIDER.c.name) == text.lower()).order_by(
                    PROVIDER.c.merged_into_id.is_not(None), PROVIDER.c.id
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        key = name_key(text)
        pid = connection.scalar(sa.select(ALIAS.c.provider_id).where(ALIAS.c.key == key))
        if pid is None and subsidiaries:
            pid = _subsidiary_of(connection, key)
        if pid is None:
            return None
        row = connection.execute(query.where(PROVIDER.c.id == pid)).mappings().one()
    seen = set()
    while row["merged_into_id"] is not None and row["id"] not in seen:
        seen.add(row["id"])
        merged = query.where(PROVIDER.c.id == row["merged_into_id"])
        row = connection.execute(merged).mappings().one()
    return dict(row)


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
        found = find_provider(connection, source)
        source_id = found["id"] if found is not None else None
        if source_id is None:
            raise ConfigurationError(
                f"no provider named {clean_text(source)!r} (see `monitor providers list`)"
            )
        existing = find_provider(connection, target_text, subsidiaries=False)
        target_id = (
            existing["id"]
            if existing is not None
            else _provider_id(connection, target_text, now, create=True)
        )
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
        "merged": found["name"],
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
    """One provider: aliases (with who made them), merged providers, networks and countries seen.

    `name` is matched exactly, else in any case, else through the aliases (`find_provider`).
    """
    text = clean_text(name)
    with engine.connect() as connection:
        row = (
            connection.execute(sa.select(PROVIDER).where(PROVIDER.c.name == text))
            .mappings()
            .first()
        )
        if row is None and not text.casefold().startswith(UNKNOWN):
            found = find_provider(connection, text)
            if found is None:
                raise ConfigurationError(
                    f"no provider named {text!r} (see `monitor providers list`)"
                )
            text = found["name"]
            row = (
                connection.execute(sa.select(PROVIDER).where(PROVIDER.c.id == found["id"]))
                .mappings()
                .one()
            )
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
