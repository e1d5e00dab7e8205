"""geoip2fast's `lookup` for a whole batch of IPs at once, over its own in-memory lists.

geoip2fast keeps its data in module globals: per table (countries, AS names) the
first address of every network as Python integers (IPv4 and IPv6 in one 128-bit
space, sorted, in chunks that each begin at their entry of a chunk index), the
network lengths, and ids into a list of names. `lookup` bisects twice per IP and
builds a result object; here the lists are flattened once into numpy arrays and
a batch is answered with one `searchsorted` per table. The answers are exactly
`lookup`'s, quirks included:

- a network's size is taken as IPv4 (2**(32 - length)) for an address up to 2**32,
  else as IPv6;
- an AS network's size is always taken as IPv6 when the data has IPv6, so an IPv4
  address gets the last AS network that starts at or before it;
- country ids below 16 are geoip2fast's reserved and private ranges (`is_private`).

`GeoipIndex.build` returns None when geoip2fast's internals are not the ones
described here (another data format or library version); callers then use
`lookup` per IP.
"""

from __future__ import annotations

import bisect
import itertools
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

_LOW_64 = (1 << 64) - 1
_IPV4_TOP = 1 << 32  # geoip2fast's MAX_IPv4: addresses up to it get IPv4-sized networks
_PRIVATE_IDS = 16  # country ids below this are geoip2fast's reserved and private ranges
_V4_PREFIX = bytes(12)
_ONE_V4 = struct.Struct(">L")
_ONE_V6 = struct.Struct(">QQ")


class Match(NamedTuple):
    """The GeoIPDetail fields geoip2fast's `lookup` gives for an address its data covers."""

    country_code: str
    is_private: bool
    cidr: str
    asn_name: str
    asn_cidr: str


class Network(NamedTuple):
    """What the embedded resolver keeps of `Match`: the AS network, else the country network."""

    country_code: str
    is_private: bool
    asn_name: str
    network: str


@dataclass(frozen=True)
class _Found:
    """Columns for the IPs with a network: their position in the batch, country code (as
    `lookup` gives it), private flag, country network row, AS name and AS network ("": none)."""

    positions: list[int]
    codes: list[str]
    private: list[bool]
    rows: np.ndarray
    asn_names: list[str]
    asn_cidrs: list[str]


@dataclass(frozen=True)
class _Networks:
    """One table's networks in address order; `key` is the first address as 16 big-endian bytes,
    which sort like the integers."""

    key: np.ndarray  # S16
    hi: np.ndarray  # uint64: high 64 bits of the first address
    lo: np.ndarray  # uint64: low 64 bits
    length: np.ndarray  # int64
    ident: np.ndarray  # int64: index into the table's names

    @classmethod
    def flatten(cls, index: list, firsts: list, lengths: list, idents: list) -> _Networks | None:
        """The chunked lists as one table; None unless they are what `lookup` bisects over."""
        if not index or index[0] != 0 or len(index) != len(firsts):
            return None
        for start, chunk, length, ident in zip(index, firsts, lengths, idents, strict=True):
            if not chunk or chunk[0] != start or not len(chunk) == len(length) == len(ident):
                return None
        flat = list(itertools.chain.from_iterable(firsts))
        small = bisect.bisect_right(flat, _LOW_64)
        large = flat[small:]
        hi = np.zeros(len(flat), dtype=np.uint64)
        lo = np.empty(len(flat), dtype=np.uint64)
        lo[:small] = np.fromiter(flat[:small], dtype=np.uint64, count=small)
        hi[small:] = np.fromiter(map((64).__rrshift__, large), dtype=np.uint64, count=len(large))
        lo[small:] = np.fromiter(map(_LOW_64.__and__, large), dtype=np.uint64, count=len(large))
        networks = cls(_keys(hi, lo), hi, lo, _joined(lengths), _joined(idents))
        ordered = bool(np.all(networks.key[1:] > networks.key[:-1]))
        return networks if ordered and int(networks.length.min()) >= 0 else None

    def locate(
        self, key: np.ndarray, hi: np.ndarray, lo: np.ndarray, width: np.ndarray | int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per address: the last network starting at or before it, and whether the address lies
        inside it, a network being 2**(width - length) addresses long."""
        at = np.searchsorted(self.key, key, side="right") - 1  # >= 0: the first network is at 0
        first_hi, first_lo = self.hi[at], self.lo[at]
        # offset = address - first, in two 64-bit halves; never negative
        offset_lo = lo - first_lo
        offset_hi = hi - first_hi - (lo < first_lo).astype(np.uint64)
        bits = width - self.length[at]
        below = np.where(
            bits >= 64,
            (offset_hi >> np.clip(bits - 64, 0, 63).astype(np.uint64)) == 0,
            (offset_hi == 0) & ((offset_lo >> np.clip(bits, 0, 63).astype(np.uint64)) == 0),
        )
        return at, (below | (bits >= 128)) & (bits >= 0)

    def texts(self, rows: np.ndarray) -> list[str]:
        """The networks at these positions as geoip2fast writes them: `address/length`."""
        return [
            f"{_address_text(hi, lo)}/{length}"
            for hi, lo, length in zip(
                self.hi[rows].tolist(),
                self.lo[rows].tolist(),
                self.length[rows].tolist(),
                strict=True,
            )
        ]


def _address_text(hi: int, lo: int) -> str:
    if hi == 0 and lo < _IPV4_TOP:
        return socket.inet_ntoa(_ONE_V4.pack(lo))
    return socket.inet_ntop(socket.AF_INET6, _ONE_V6.pack(hi, lo))


def _joined(chunks: list[list[int]]) -> np.ndarray:
    return np.concatenate([np.array(chunk, dtype=np.int64) for chunk in chunks])


def _keys(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    # numpy orders fixed-width bytes as unsigned bytes, so big-endian keys order like the numbers
    pairs = np.empty((hi.size, 2), dtype=">u8")
    pairs[:, 0], pairs[:, 1] = hi, lo
    return pairs.view("S16").ravel()


def _packed(ip: str) -> bytes | None:
    """The address as 16 big-endian bytes, read the way geoip2fast reads it (IPv4 first)."""
    try:
        return _V4_PREFIX + socket.inet_aton(ip)
    except (OSError, ValueError, TypeError):
        pass
    try:
        return socket.inet_pton(socket.AF_INET6, ip)
    except (OSError, ValueError, TypeError):
        return None


class GeoipIndex:
    """geoip2fast's country (and AS name) tables as numpy arrays, for lookups in bulk."""

    def __init__(
        self,
        geoip,
        countries: _Networks,
        codes: list[str | None],
        asns: _Networks | None,
        asn_names: list[str],
    ):
        self._geoip = geoip
        self._countries = countries
        self._codes = codes  # per country id; None where geoip2fast fails on the name
        self._named = np.array([code is not None for code in codes], dtype=bool)
        self._asns = asns
        self._asn_names = asn_names
        self._asn_width = 128 if geoip.ipv6 else 32

    @classmethod
    def build(cls, geoip) -> GeoipIndex | None:
        """The index over a loaded GeoIP2Fast's data; None when its internals are unexpected."""
        from geoip2fast import geoip2fast as module

        if getattr(module, "__DAT_VERSION__", None) != 120 or not geoip.country or geoip.city:
            return None
        try:
            countries = _Networks.flatten(
                module.mainIndex,
                module.mainListFirstIP,
                module.mainListNetlength,
                module.mainListIDCountryCodes,
            )
            names = module.mainListNamesCountry
            asns, asn_names = None, []
            if geoip.asn:
                asns = _Networks.flatten(
                    module.mainIndexASN,
                    module.mainListFirstIPASN,
                    module.mainListNetlengthASN,
                    module.mainListIDASN,
                )
                asn_names = module.mainListNamesASN
                if asns is None or not _ids_within(asns, len(asn_names)):
                    return None
        except (AttributeError, TypeError, ValueError, OverflowError):
            return None
        if countries is None or not _ids_within(countries, len(names)):
            return None
        codes = [parts[0] if len(parts) == 2 else None for parts in (n.split(":") for n in names)]
        return cls(geoip, countries, codes, asns, asn_names)

    def lookup(self, ips: Sequence[str]) -> list[Match | None]:
        """What geoip2fast's `lookup` says per IP; None where it finds no network (or the IP
        is invalid)."""
        found = self._find(ips)
        results: list[Match | None] = [None] * len(ips)
        for position, code, private, cidr, asn_name, asn_cidr in zip(
            found.positions,
            found.codes,
            found.private,
            self._countries.texts(found.rows),
            found.asn_names,
            found.asn_cidrs,
            strict=True,
        ):
            results[position] = Match(code, private, cidr, asn_name, asn_cidr)
        return results

    def networks(self, ips: Sequence[str]) -> list[Network | None]:
        """`lookup` as the embedded resolver uses it: the network is the AS network, else the
        country network (which is then the only one written out)."""
        found = self._find(ips)
        bare = [index for index, cidr in enumerate(found.asn_cidrs) if not cidr]
        cidrs = dict(zip(bare, self._countries.texts(found.rows[bare]), strict=True))
        results: list[Network | None] = [None] * len(ips)
        for index, (position, code, private, asn_name, asn_cidr) in enumerate(
            zip(
                found.positions,
                found.codes,
                found.private,
                found.asn_names,
                found.asn_cidrs,
                strict=True,
            )
        ):
            results[position] = Network(code, private, asn_name, asn_cidr or cidrs[index])
        return results

    def _find(self, ips: Sequence[str]) -> _Found:
        """The country and AS networks of the IPs geoip2fast has a network for."""
        packed = [_packed(ip) for ip in ips]
        valid = np.array([at for at, data in enumerate(packed) if data is not None], dtype=np.int64)
        data = b"".join(data for data in packed if data is not None)
        key = np.frombuffer(data, dtype="S16")
        halves = np.frombuffer(data, dtype=">u8").reshape(-1, 2)
        hi, lo = halves[:, 0].astype(np.uint64), halves[:, 1].astype(np.uint64)
        width = np.where((hi == 0) & (lo <= _IPV4_TOP), 32, 128)
        at, inside = self._countries.locate(key, hi, lo, width)
        idents = self._countries.ident[at]
        found = np.flatnonzero(inside & self._named[idents])
        private = (idents[found] < _PRIVATE_IDS).tolist()
        code_of_private = self._geoip.error_code_private_networks
        codes = [
            code_of_private if is_private else self._codes[ident]
            for ident, is_private in zip(idents[found].tolist(), private, strict=True)
        ]
        asn_names, asn_cidrs = self._asn_answers(key[found], hi[found], lo[found])
        return _Found(valid[found].tolist(), codes, private, at[found], asn_names, asn_cidrs)

    def _asn_answers(
        self, key: np.ndarray, hi: np.ndarray, lo: np.ndarray
    ) -> tuple[list[str], list[str]]:
        """AS name and AS network per address, "" where no AS network holds it."""
        names, cidrs = [""] * key.size, [""] * key.size
        if self._asns is None:
            return names, cidrs
        rows, inside = self._asns.locate(key, hi, lo, self._asn_width)
        held = np.flatnonzero(inside)
        for position, ident, cidr in zip(
            held.tolist(),
            self._asns.ident[rows[held]].tolist(),
            self._asns.texts(rows[held]),
            strict=True,
        ):
            names[position], cidrs[position] = self._asn_names[ident], cidr
        return names, cidrs


def _ids_within(networks: _Networks, size: int) -> bool:
    return networks.ident.size == 0 or (
        int(networks.ident.min()) >= 0 and int(networks.ident.max()) < size
    )
