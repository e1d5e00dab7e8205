"""Import a CAIDA RouteViews pfx2as table (IPv4, optionally IPv6) and an AS-names file.

The three inputs form one data version. Import is one transaction: the new
version becomes active and the previous version's prefixes are dropped (its
`prefix_source` row stays, retired, and the per-IP answers it gave stay in
`ip_resolution`). A bad line is never skipped silently: it is counted and named
in the summary. Inputs are paths or http(s) URLs (downloaded with httpx).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import socket
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from monitor.core.timeutil import utcnow
from providers.bulk import insert_rows
from providers.errors import ReferenceDataError
from providers.models import AsName, PrefixEntry, PrefixSource

SOURCE = PrefixSource.__table__
ENTRY = PrefixEntry.__table__
NAMES = AsName.__table__
MAX_ERRORS_LISTED = 20
MAX_REJECTED_SHARE = 0.01  # more bad lines than this: the file is not what we think it is
_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_TOP64 = 1 << 63


@dataclass
class _Rejects:
    count: int = 0
    listed: list[dict] = field(default_factory=list)
    by_file: dict[str, int] = field(default_factory=dict)

    def add(self, origin: str, line: int, reason: str) -> None:
        self.count += 1
        self.by_file[origin] = self.by_file.get(origin, 0) + 1
        if len(self.listed) < MAX_ERRORS_LISTED:
            self.listed.append({"file": origin, "line": line, "reason": reason})


def _display(location: str) -> str:
    """A file name or a URL without query string (it may carry a token)."""
    if location.startswith(("http://", "https://")):
        return location.split("?", 1)[0][:255]
    return Path(location).name[:255]


@contextmanager
def _local_copy(location: str, client: httpx.Client | None):
    """A local path for `location`, downloading it first when it is a URL."""
    if not location.startswith(("http://", "https://")):
        path = Path(location)
        if not path.is_file():
            raise ReferenceDataError(f"{location}: no such file")
        yield path
        return
    own = client is None
    client = client or httpx.Client(timeout=60, follow_redirects=True)
    try:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "download"
            try:
                with client.stream("GET", location) as response:
                    response.raise_for_status()
                    with target.open("wb") as out:
                        for block in response.iter_bytes():
                            out.write(block)
            except httpx.HTTPStatusError as exc:
                raise ReferenceDataError(
                    f"{_display(location)}: download failed: HTTP {exc.response.status_code}"
                ) from None
            except httpx.HTTPError as exc:
                # The message of a transport error may carry the full URL (and a token in it).
                raise ReferenceDataError(
                    f"{_display(location)}: download failed: {type(exc).__name__}"
                ) from None
            yield target
    finally:
        if own:
            client.close()


def _open_text(path: Path) -> io.TextIOWrapper:
    with path.open("rb") as probe:
        magic = probe.read(2)
    raw = gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def _digest(paths: list[Path | None]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(b"\x00")
        if path is not None:
            with path.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()


def _parse_origin(text: str) -> tuple[int | None, str | None]:
    """`13335` -> (13335, None); MOAS `6939_1101` or AS set `71,4445` -> (first, raw)."""
    parts = re.split(r"[_,]", text)
    first = int(parts[0])
    if first < 0 or first >= 1 << 32:
        raise ValueError("AS number out of range")
    return first, (text[:255] if len(parts) > 1 else None)


def _pfx2as_rows(
    path: Path, family: int, source_id: int, origin: str, rejects: _Rejects
) -> Iterator[tuple]:
    """(source_id, family, net_hi, net_lo, length, asn, origin) per good line."""
    width = 32 if family == 4 else 128
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            try:
                if len(fields) != 3:
                    raise ValueError(f"expected prefix, length and AS, got {len(fields)} fields")
                length = int(fields[1])
                if not 0 <= length <= width:
                    raise ValueError(f"prefix length {length} out of range")
                if family == 4:
                    value = struct.unpack(">I", socket.inet_aton(fields[0]))[0]
                    if fields[0].count(".") != 3:
                        raise ValueError("not a dotted IPv4 address")
                else:
                    value = int.from_bytes(socket.inet_pton(socket.AF_INET6, fields[0]), "big")
                if value & ((1 << (width - length)) - 1):
                    raise ValueError("host bits set in prefix")
                asn, raw = _parse_origin(fields[2])
            except (ValueError, OSError) as exc:
                rejects.add(origin, number, f"{exc} in {line.strip()[:60]!r}")
                continue
            hi, lo = (0, value) if family == 4 else (value >> 64, value & 0xFFFFFFFFFFFFFFFF)
            # BIGINT is signed: store each half with the same 64 bits as int64.
            hi = hi - (1 << 64) if hi >= _TOP64 else hi
            lo = lo - (1 << 64) if lo >= _TOP64 else lo
            yield (source_id, family, hi, lo, length, asn, raw)


def _asname_rows(path: Path, source_id: int, origin: str, rejects: _Rejects) -> Iterator[tuple]:
    """(source_id, asn, name, country, rir) per good row of `asn,name,country,registry`."""
    seen: set[int] = set()
    with _open_text(path) as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or [h.strip().lower() for h in header[:2]] != ["asn", "name"]:
            raise ReferenceDataError(f"{origin}: expected a header asn,name,country,registry")
        for row in reader:
            number = reader.line_num
            try:
                if len(row) < 2:
                    raise ValueError("expected asn,name,country,registry")
                asn = int(row[0].strip().upper().removeprefix("AS"))
                if asn in seen:
                    raise ValueError(f"AS{asn} listed twice")
            except ValueError as exc:
                rejects.add(origin, number, str(exc))
                continue
            seen.add(asn)
            country = (row[2].strip().upper() if len(row) > 2 else "") or None
            country = country if country and len(country) == 2 and country.isalpha() else None
            rir = (row[3].strip().lower()[:16] if len(row) > 3 else "") or None
            yield (source_id, asn, " ".join(row[1].split())[:255] or f"AS{asn}", country, rir)


def active_source(connection) -> dict | None:
    """The active prefix-table version (newest not retired), or None before any import."""
    row = (
        connection.execute(
            sa.select(SOURCE)
            .where(SOURCE.c.retired_at.is_(None))
            .order_by(SOURCE.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def _data_date(location: str, given: date | None) -> date | None:
    if given is not None:
        return given
    match = _DATE_IN_NAME.search(_display(location))
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def refresh_prefix_table(
    engine: Engine,
    pfx2as_v4: str,
    pfx2as_v6: str | None,
    asnames: str,
    *,
    data_date: date | None = None,
    client: httpx.Client | None = None,
    now: datetime | None = None,
) -> dict:
    """Import a pfx2as table (+ IPv6) and AS names as the new active data version.

    Importing the same three files again changes nothing. Returns a summary
    with the version, counts and the first rejected lines.
    """
    now = now or utcnow()
    with (
        _local_copy(str(pfx2as_v4), client) as v4_path,
        _local_copy(str(asnames), client) as names_path,
    ):
        if pfx2as_v6:
            with _local_copy(str(pfx2as_v6), client) as v6_path:
                return _import(
                    engine,
                    pfx2as_v4,
                    pfx2as_v6,
                    asnames,
                    v4_path,
                    v6_path,
                    names_path,
                    data_date,
                    now,
                )
        return _import(engine, pfx2as_v4, None, asnames, v4_path, None, names_path, data_date, now)


def _import(
    engine, v4_loc, v6_loc, names_loc, v4_path, v6_path, names_path, data_date, now
) -> dict:
    sha = _digest([v4_path, v6_path, names_path])
    when = _data_date(str(v4_loc), data_date)
    version = f"pfx2as-{when:%Y%m%d}-{sha[:8]}" if when else f"pfx2as-{sha[:12]}"
    rejects = _Rejects()
    with engine.begin() as connection:
        current = active_source(connection)
        if current and current["sha256"] == sha:
            return _summary(current, rejects, unchanged=True)
        if connection.scalar(sa.select(SOURCE.c.id).where(SOURCE.c.version == version)):
            raise ReferenceDataError(
                f"data version {version} was imported before and retired; "
                "re-import it under another data date to make it active again"
            )
        source_id = connection.execute(
            SOURCE.insert().values(
                version=version,
                data_date=when,
                sha256=sha,
                source_v4=_display(str(v4_loc)),
                source_v6=_display(str(v6_loc)) if v6_loc else None,
                source_asnames=_display(str(names_loc)),
                imported_at=now,
            )
        ).inserted_primary_key[0]
        columns = ("source_id", "family", "net_hi", "net_lo", "length", "asn", "origin")
        count_v4 = insert_rows(
            connection,
            "prefix_entry",
            columns,
            _pfx2as_rows(v4_path, 4, source_id, _display(str(v4_loc)), rejects),
        )
        count_v6 = 0
        if v6_path is not None:
            count_v6 = insert_rows(
                connection,
                "prefix_entry",
                columns,
                _pfx2as_rows(v6_path, 6, source_id, _display(str(v6_loc)), rejects),
            )
        count_names = insert_rows(
            connection,
            "as_name",
            ("source_id", "asn", "name", "country", "rir"),
            _asname_rows(names_path, source_id, _display(str(names_loc)), rejects),
        )
        for location, good in ((v4_loc, count_v4), (v6_loc, count_v6), (names_loc, count_names)):
            if location is not None:
                _refuse_if_unusable(_display(str(location)), good, rejects)
        connection.execute(
            SOURCE.update()
            .where(SOURCE.c.id == source_id)
            .values(
                prefixes_v4=count_v4,
                prefixes_v6=count_v6,
                as_names=count_names,
                rejected_lines=rejects.count,
            )
        )
        old = [
            row[0]
            for row in connection.execute(
                sa.select(SOURCE.c.id).where(
                    SOURCE.c.id != source_id, SOURCE.c.retired_at.is_(None)
                )
            )
        ]
        if old:
            connection.execute(ENTRY.delete().where(ENTRY.c.source_id.in_(old)))
            connection.execute(NAMES.delete().where(NAMES.c.source_id.in_(old)))
            connection.execute(SOURCE.update().where(SOURCE.c.id.in_(old)).values(retired_at=now))
        current = dict(
            connection.execute(sa.select(SOURCE).where(SOURCE.c.id == source_id)).mappings().one()
        )
    return _summary(current, rejects, unchanged=False, retired=len(old))


def _refuse_if_unusable(origin: str, good: int, rejects: _Rejects) -> None:
    """Raise when a file is mostly not what it claims to be (the transaction then rolls back)."""
    bad = rejects.by_file.get(origin, 0)
    if good == 0 or bad > MAX_REJECTED_SHARE * (good + bad):
        first = next((e["reason"] for e in rejects.listed if e["file"] == origin), "no usable line")
        raise ReferenceDataError(
            f"refusing the prefix table: {bad} of {good + bad} lines of {origin} are bad "
            f"(first: {first}); nothing was imported"
        )


def _summary(source: dict, rejects: _Rejects, *, unchanged: bool, retired: int = 0) -> dict:
    return {
        "version": source["version"],
        "data_date": source["data_date"].isoformat() if source["data_date"] else None,
        "unchanged": unchanged,
        "prefixes_v4": source["prefixes_v4"],
        "prefixes_v6": source["prefixes_v6"],
        "as_names": source["as_names"],
        "rejected": source["rejected_lines"] if unchanged else rejects.count,
        "errors": rejects.listed,
        "retired_versions": retired,
    }
