"""IP addresses: special-purpose ranges and fast conversion to integers for bulk lookups."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence

import numpy as np

_SHARED_V4 = ipaddress.ip_network("100.64.0.0/10")
_DOCUMENTATION = tuple(
    ipaddress.ip_network(net)
    for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")
)


def canonical_ip(text: str) -> str | None:
    """The address in compressed form (IPv4-mapped IPv6 becomes IPv4); None when invalid."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def special_purpose(ip: str) -> str | None:
    """Why an address says nothing about hosting (private, loopback, ...), or None if global.

    These are reported as such, never as a country: no hosting provider can be
    named for them.
    """
    address = ipaddress.ip_address(ip)
    if address.is_unspecified:
        return "unspecified address"
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if address.version == 4 and address in _SHARED_V4:
        return "shared address space (carrier-grade NAT)"
    if any(address.version == net.version and address in net for net in _DOCUMENTATION):
        return "documentation address"
    if address.is_reserved:
        return "reserved address"
    if address.is_private:
        return "private address"
    if not address.is_global:
        return "special-purpose address"
    return None


def split_families(ips: Sequence[str]) -> tuple[list[str], list[str]]:
    """IPv4 and IPv6 addresses apart (input must be canonical, see `canonical_ip`)."""
    v4 = [ip for ip in ips if ":" not in ip]
    v6 = [ip for ip in ips if ":" in ip]
    return v4, v6


def ipv4_to_uint(ips: Sequence[str]) -> np.ndarray:
    """IPv4 addresses as uint64 integers (vectorised through inet_aton)."""
    if not ips:
        return np.zeros(0, dtype=np.uint64)
    packed = b"".join(socket.inet_aton(ip) for ip in ips)
    return np.frombuffer(packed, dtype=">u4").astype(np.uint64)


def ipv6_to_halves(ips: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """IPv6 addresses as two uint64 arrays: the high and the low 64 bits."""
    if not ips:
        empty = np.zeros(0, dtype=np.uint64)
        return empty, empty.copy()
    packed = b"".join(socket.inet_pton(socket.AF_INET6, ip) for ip in ips)
    halves = np.frombuffer(packed, dtype=">u8").astype(np.uint64).reshape(-1, 2)
    return halves[:, 0].copy(), halves[:, 1].copy()


def to_signed(values: np.ndarray) -> np.ndarray:
    """uint64 as int64 with the same bits: how BIGINT columns hold IPv6 halves."""
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64)


def to_unsigned(values: np.ndarray) -> np.ndarray:
    """Inverse of `to_signed`."""
    return np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)


def network_text(family: int, hi: int, lo: int, length: int) -> str:
    """`a.b.c.d/len` or `x::/len` from the stored integer halves (unsigned)."""
    if family == 4:
        return f"{socket.inet_ntoa(int(lo).to_bytes(4, 'big'))}/{length}"
    packed = int(hi).to_bytes(8, "big") + int(lo).to_bytes(8, "big")
    return f"{socket.inet_ntop(socket.AF_INET6, packed)}/{length}"
