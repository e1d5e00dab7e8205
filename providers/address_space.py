"""Provider size: announced IPv4 addresses per AS, network and provider, from the prefix table.

A large hoster receives more notices because it is large; notices per announced address
is the usual normalisation (Noroozian et al., CSET 2015). Definitions:

- An AS's size is the number of IPv4 addresses covered by the prefixes it originates in
  the active prefix-table version, overlapping prefixes counted once (the union of the
  address ranges: 10.0.0.0/8 with 10.1.0.0/16 inside it is 16,777,216 addresses).
  A prefix with several origins (MOAS, AS set) counts for its first AS, as the resolver
  attributes it.
- A network (AS organisation name) and a provider get the sum over their ASes. A prefix
  announced by two of their ASes would count twice; that is rare, since a multi-origin
  prefix counts for its first AS only. The per-AS sizes of a data version are computed
  once and kept in `as_size`.
- A provider's ASes: those whose AS name the provider registry maps to it, plus the ASes
  its resolved tickets were hosted in (in a scorecard: the tickets it reads, as of its
  as_of). A reseller's tickets sit in its upstream's ASes,
  so it is given the upstream's space: address space is a proxy (docs/fair-comparisons.md).
- An analyst's figure (`monitor providers size import`) replaces the computed one.

Every figure carries the prefix-table data version (or `analyst`) it comes from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.errors import ConfigurationError
from monitor.core.timeutil import iso, utcnow
from monitor.store.models import RESOLUTION
from providers.bulk import insert_rows
from providers.models import AsName, AsSize, PrefixEntry, ProviderSizeFigure
from providers.names import _PUNCTUATION, clean_text, name_key
from providers.prefix_import import active_source
from providers.registry import UNKNOWN, AliasMap

ENTRY = PrefixEntry.__table__
NAMES = AsName.__table__
SIZE = ProviderSizeFigure.__table__
AS_SIZE = AsSize.__table__
ANALYST = "analyst"
MAX_IMPORT_ROWS = 100_000
MAX_ADDRESSES = 1 << 32
_SEGMENT_STEP = np.int64(1 << 33)  # more than any IPv4 range end: keeps groups apart


def union_sizes(groups: np.ndarray, starts: np.ndarray, ends: np.ndarray, n_groups: int):
    """Per group the number of integers covered by its half-open ranges [start, end), overlaps
    counted once. Vectorised: sort by (group, start); a range adds what lies beyond the
    furthest end of the ranges before it in its group (a running maximum, kept apart per
    group by adding group * 2**33, more than any IPv4 end)."""
    groups = np.asarray(groups, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if len(groups) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    order = np.lexsort((starts, groups))
    g, s, e = groups[order], starts[order], ends[order]
    offset = g * _SEGMENT_STEP
    reach = np.maximum.accumulate(e + offset) - offset
    before = np.empty_like(reach)
    before[0] = -1
    before[1:] = reach[:-1]
    before[1:][g[1:] != g[:-1]] = -1  # a group's first range has nothing before it
    added = np.maximum(0, e - np.maximum(s, before))
    return np.bincount(g, weights=added, minlength=n_groups).astype(np.int64)


def ipv4_ranges(net: Iterable[int], length: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
    """Half-open address ranges [start, end) of IPv4 prefixes given as network and length."""
    start = np.asarray(net, dtype=np.int64) & 0xFFFFFFFF
    length = np.asarray(length, dtype=np.int64)
    return start, start + (np.int64(1) << (32 - length))


@dataclass(frozen=True)
class AddressSpace:
    """Announced IPv4 addresses per AS and network name of one prefix-table version."""

    version: str | None
    data_date: str | None
    asn: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # sorted ASNs
    asn_size: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    network: dict[int, str] = field(default_factory=dict)  # ASN -> AS name

    def asns_for_keys(self, keys: set[str]) -> dict[str, set[int]]:
        """Name key -> the ASes whose AS name has that key, for the keys asked for.

        `name_key` costs about 10 us a name; only names that hold the first word of a key
        asked for can have it (a key's words are words of the name), so only those are keyed.
        """
        firsts = {key.split()[0] for key in keys if key}
        result: dict[str, set[int]] = {}
        for asn, name in self.network.items():
            words = _PUNCTUATION.sub(" ", str(name).casefold().replace("&", " and ")).split()
            if firsts.isdisjoint(words):
                continue
            key = name_key(name)
            if key in keys:
                result.setdefault(key, set()).add(int(asn))
        return result

    def network_sizes(self, names: Collection[str] | None = None) -> dict[str, dict]:
        """AS name -> its ASes and the sum of their announced addresses, for every AS name
        or only for `names` (a scorecard asks for the few rows without an AS number)."""
        wanted = None if names is None else set(names)
        asns: dict[str, list[int]] = {}
        for asn in self.asn.tolist():
            name = self.network.get(asn)
            if name is not None and (wanted is None or name in wanted):
                asns.setdefault(str(name), []).append(asn)
        result = {}
        for name, members in asns.items():
            addresses = int(self.asn_size[np.searchsorted(self.asn, members)].sum())
            if addresses:
                result[name] = {"addresses": addresses, "basis": self.version, "asns": members}
        return result

    def size_of_asn(self, asn: int) -> int | None:
        """Announced addresses of one AS; None when it announces no IPv4 prefix."""
        at = int(np.searchsorted(self.asn, asn))
        if at < len(self.asn) and self.asn[at] == asn:
            return int(self.asn_size[at])
        return None

    def sum_of(self, groups_of_asn: dict[str, set[int]]) -> dict[str, int]:
        """Per named set of ASes the sum of their announced addresses (0 when none announce)."""
        result = {}
        for name, asns in groups_of_asn.items():
            wanted = np.array(sorted(asns), np.int64)
            at = np.searchsorted(self.asn, wanted)
            inside = at < len(self.asn)
            inside[inside] = self.asn[at[inside]] == wanted[inside]
            result[name] = int(self.asn_size[at[inside]].sum())
        return result


def address_space(asns, nets, lengths, names: dict[int, str], version, data_date) -> AddressSpace:
    """The address space of a list of IPv4 prefixes (network, length, origin AS)."""
    asns = np.asarray(asns, dtype=np.int64)
    starts, ends = ipv4_ranges(nets, lengths)
    known = asns >= 0
    values, codes = np.unique(asns[known], return_inverse=True)
    sizes = union_sizes(codes, starts[known], ends[known], len(values))
    return AddressSpace(version, data_date, values, sizes, names)


def _prefixes(engine: Engine, source_id: int) -> np.ndarray:
    """(asn, net_lo, length) of the version's IPv4 prefixes, read through the driver."""
    from monitor.store.reading import read_snapshot

    parts = []
    with read_snapshot(engine) as reader:
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        sql = (
            "SELECT asn, net_lo, length FROM prefix_entry "
            f"WHERE source_id = {mark} AND family = 4 AND asn IS NOT NULL"
        )
        for rows in reader.chunks(sql, (source_id,)):
            flat = np.fromiter(chain.from_iterable(rows), np.int64, 3 * len(rows))
            parts.append(flat.reshape(-1, 3))
    return np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)


def _driver_rows(engine: Engine, sql: str, source_id: int) -> list[tuple]:
    from monitor.store.reading import read_snapshot

    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    with read_snapshot(engine) as reader:
        return [row for rows in reader.chunks(sql.format(mark=mark), (source_id,)) for row in rows]


def _stored_sizes(engine: Engine, source_id: int) -> tuple[np.ndarray, np.ndarray] | None:
    rows = _driver_rows(
        engine,
        "SELECT asn, addresses FROM as_size WHERE source_id = {mark} ORDER BY asn",
        source_id,
    )
    if not rows:
        return None
    table = np.array(rows, dtype=np.int64).reshape(-1, 2)
    return table[:, 0], table[:, 1]


def _store_sizes(engine: Engine, source_id: int, space: AddressSpace) -> None:
    """Keep the per-AS sizes of the active version (computed once: a few seconds for the
    full RouteViews table), dropping those of retired versions."""
    with engine.begin() as connection:
        connection.execute(AS_SIZE.delete().where(AS_SIZE.c.source_id != source_id))
        stored = connection.scalar(
            sa.select(sa.func.count()).select_from(AS_SIZE).where(AS_SIZE.c.source_id == source_id)
        )
        if stored:
            return  # another process stored them first
        insert_rows(
            connection,
            "as_size",
            ("source_id", "asn", "addresses"),
            (
                (source_id, asn, size)
                for asn, size in zip(space.asn.tolist(), space.asn_size.tolist(), strict=True)
            ),
        )


def load_address_space(engine: Engine) -> AddressSpace:
    """The active prefix table's announced addresses per AS, and the AS names.

    The per-AS sizes are computed from the prefixes on first use of a data version and kept
    in `as_size`, so later reads take milliseconds instead of reading every prefix.
    """
    with engine.connect() as connection:
        source = active_source(connection)
    if source is None:
        return AddressSpace(None, None)
    names = dict(
        _driver_rows(engine, "SELECT asn, name FROM as_name WHERE source_id = {mark}", source["id"])
    )
    data_date = source["data_date"].isoformat() if source["data_date"] else None
    stored = _stored_sizes(engine, source["id"])
    if stored is not None:
        return AddressSpace(source["version"], data_date, stored[0], stored[1], names)
    table = _prefixes(engine, source["id"])
    space = address_space(
        table[:, 0], table[:, 1], table[:, 2], names, source["version"], data_date
    )
    _store_sizes(engine, source["id"], space)
    return space


def provider_asns(
    engine: Engine, space: AddressSpace, seen: Iterable[tuple] | None = None
) -> dict[str, set[int]]:
    """Canonical provider -> its ASes. An AS belongs to a provider when its AS name has the
    same name key (`providers.names.name_key`) as a registry alias of the provider, as the
    provider's own name, or as a network its resolved tickets were hosted in; and every AS
    number seen on its resolved tickets. `unknown` rows are no provider and get none.

    `seen`: the (provider, network, asn) combinations of the tickets to go by (a scorecard
    passes those of its own tickets as of its as_of, so the figure can be re-derived);
    None reads every resolution in the store."""
    with engine.connect() as connection:
        aliases = AliasMap.load(connection)
        if seen is None:
            seen = connection.execute(
                sa.select(RESOLUTION.c.provider, RESOLUTION.c.network, RESOLUTION.c.asn)
                .where(RESOLUTION.c.provider.is_not(None))
                .distinct()
            ).all()
    seen = [row for row in seen if row[0]]
    providers_of_key: dict[str, set[str]] = {}

    def link(key: str | None, provider: str) -> None:
        if key and provider and not provider.startswith(UNKNOWN):
            providers_of_key.setdefault(key, set()).add(provider)

    for key, provider in aliases.mapping.items():
        link(key, provider)
    for provider in {*aliases.names.values(), *(row[0] for row in seen)}:
        link(name_key(provider), provider)
    result: dict[str, set[int]] = {}
    for provider, network, asn in seen:
        if provider.startswith(UNKNOWN):
            continue
        if network:
            link(name_key(network), provider)
        if asn is not None:
            result.setdefault(provider, set()).add(int(asn))
    for key, asns in space.asns_for_keys(set(providers_of_key)).items():
        for provider in providers_of_key.get(key, ()):
            result.setdefault(provider, set()).update(asns)
    return result


def analyst_sizes(engine: Engine) -> dict[str, dict]:
    """Provider -> the newest analyst figure: addresses, source, imported_at."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(SIZE).order_by(SIZE.c.batch, SIZE.c.id)).mappings()
        latest = {}
        for row in rows:
            latest[row["provider"]] = {
                "addresses": int(row["addresses"]),
                "source": row["source"],
                "imported_at": iso(row["imported_at"]),
            }
    return latest


def provider_sizes(
    engine: Engine,
    *,
    networks: bool | Collection[str] = True,
    seen: Iterable[tuple] | None = None,
) -> dict:
    """Announced IPv4 addresses per provider and per network name, with their basis.

    Returns `{"data_version": ..., "data_date": ..., "providers": {name: entry},
    "networks": {name: entry}}`, an entry being `{"addresses": int, "basis": data version or
    "analyst", "asns": [...]}`. `networks`: every network (True), none (False) or those
    named. `seen`: as for `provider_asns` (the hosting seen on the tickets that decide a
    provider's ASes; None: every resolution).
    """
    space = load_address_space(engine)
    by_provider = provider_asns(engine, space, seen) if space.version else {}
    provider_size = space.sum_of(by_provider) if space.version else {}
    providers = {
        name: {"addresses": provider_size[name], "basis": space.version, "asns": sorted(asns)}
        for name, asns in by_provider.items()
        if provider_size.get(name)
    }
    for name, figure in analyst_sizes(engine).items():
        providers[name] = {
            "addresses": figure["addresses"],
            "basis": ANALYST,
            "source": figure["source"],
            "asns": providers.get(name, {}).get("asns", []),
        }
    by_network = {}
    if space.version and networks:
        by_network = space.network_sizes(None if networks is True else networks)
    return {
        "data_version": space.version,
        "data_date": space.data_date,
        "providers": providers,
        "networks": by_network,
        "space": space,
    }


def _parse_size_rows(text: str, origin: str) -> list[tuple[str, int, str | None]]:
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:2] != ["provider", "addresses"]:
        raise ConfigurationError(f"{origin}: expected a header provider,addresses[,source]")
    rows, errors = [], []
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise ConfigurationError(f"{origin}: more than {MAX_IMPORT_ROWS} rows")
        name = clean_text(row[0]) if row else ""
        if not name or not name_key(name) or name.casefold().startswith(UNKNOWN):
            errors.append(f"line {line}: not a usable provider name")
            continue
        try:
            addresses = int(row[1].strip().replace("_", "")) if len(row) > 1 else -1
        except ValueError:
            addresses = -1
        if not 0 < addresses <= MAX_ADDRESSES:
            errors.append(f"line {line}: addresses must be a whole number from 1 to 2**32")
            continue
        source = clean_text(row[2])[:255] if len(row) > 2 and row[2].strip() else None
        rows.append((name[:255], addresses, source))
    if errors:
        shown = "; ".join(errors[:5]) + (f"; and {len(errors) - 5} more" if len(errors) > 5 else "")
        raise ConfigurationError(f"{origin}: nothing imported: {shown}")
    return rows


def import_sizes(engine: Engine, path: Path, *, now: datetime | None = None) -> dict:
    """Store an analyst's size figures from a CSV `provider,addresses[,source]` as one batch.

    The whole file is refused when one row is bad (a size figure decides a published
    ratio: half a file would be worse than none). Names go through the registry, so an
    alias names its canonical provider.
    """
    now = now or utcnow()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read: {type(exc).__name__}") from None
    rows = _parse_size_rows(text, path.name[:255])
    with engine.begin() as connection:
        aliases = AliasMap.load(connection)
        batch = (connection.scalar(sa.select(sa.func.max(SIZE.c.batch))) or 0) + 1
        canonical = [(aliases.mapping.get(name_key(name), name), n, s) for name, n, s in rows]
        if canonical:
            connection.execute(
                SIZE.insert(),
                [
                    {
                        "provider": name,
                        "addresses": addresses,
                        "source": source,
                        "origin": path.name[:255],
                        "batch": batch,
                        "imported_at": now,
                    }
                    for name, addresses, source in canonical
                ],
            )
    return {
        "batch": batch,
        "imported": len(canonical),
        "providers": [name for name, _n, _s in canonical],
    }
