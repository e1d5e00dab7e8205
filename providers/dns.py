"""Opt-in DNS lookups (`monitor resolve --dns`): an address for tickets with a hostname only.

Nothing here runs unless the user asks for it: by default the resolution makes no DNS
query at all. With `--dns`, each distinct hostname of a pending ticket without an IP is
looked up once per run, a bounded number at a time, each with a timeout, and one address
is chosen deterministically. That address is then resolved exactly like a stored IP.

Hostnames are stored already, but they are still not logged (and no URL ever is); a
resolver library's error text goes through `monitor.core.redaction.error_text`.
"""

from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, wait

from monitor.core.redaction import error_text
from providers.addresses import canonical_ip, special_purpose

log = logging.getLogger(__name__)

Lookup = Callable[[str], list[str]]
WORKERS = 16
TIMEOUT = 5.0  # seconds for one lookup, counted from when it starts


def system_lookup(hostname: str) -> list[str]:
    """Every address the system resolver gives for `hostname` (`socket.getaddrinfo`)."""
    infos = socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def choose_address(answers: Iterable[str]) -> str | None:
    """The one address a ticket takes from a DNS answer, the same every time; None if none.

    Global addresses first (a non-global one is taken only when there is nothing else, and
    is then reported as private, loopback, ... like a stored one); among them the lowest
    IPv4, else the lowest IPv6. Zone ids (`fe80::1%eth0`) are dropped; unreadable answers
    are ignored.
    """
    readable = {canonical_ip(str(answer).split("%", 1)[0]) for answer in answers} - {None}
    if not readable:
        return None
    return min(readable, key=_rank)


def _rank(ip: str) -> tuple[bool, int, int]:
    address = ipaddress.ip_address(ip)
    return special_purpose(ip) is not None, address.version, int(address)


def lookup_addresses(
    hostnames: Sequence[str],
    lookup: Lookup | None = None,
    *,
    workers: int = WORKERS,
    timeout: float = TIMEOUT,
) -> dict[str, str | None]:
    """The chosen address per hostname (None: lookup failed, timed out or gave nothing usable).

    At most `workers` lookups run at once. The system resolver has no per-call timeout,
    so the wait for each answer is bounded instead: a lookup still running `timeout`
    seconds after it started counts as failed and is abandoned. Its thread ends when the
    system resolver gives up, or with the process: the workers are daemon threads, so a
    hung resolver does not hold up the exit (a ThreadPoolExecutor's workers are joined at
    exit). `lookup` defaults to `system_lookup`.
    """
    started: dict[str, float] = {}
    futures = _start_lookups(hostnames, lookup or system_lookup, max(1, workers), started)
    try:
        chosen = {
            hostname: _answer(future, hostname, started, timeout) for hostname, future in futures
        }
    finally:
        for _, future in futures:
            future.cancel()  # the ones no worker has started yet are skipped
    failed = sum(1 for ip in chosen.values() if ip is None)
    log.info("dns: %d hostnames looked up, %d without a usable address", len(chosen), failed)
    return chosen


def _start_lookups(
    hostnames: Sequence[str], lookup: Lookup, workers: int, started: dict[str, float]
) -> list[tuple[str, Future]]:
    """A future per hostname, answered by up to `workers` daemon threads taking them in order;
    `started` gets the time each lookup began."""
    jobs: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
    futures = [(hostname, Future()) for hostname in hostnames]
    for job in futures:
        jobs.put(job)

    def work() -> None:
        while True:
            try:
                hostname, future = jobs.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            started[hostname] = time.monotonic()
            try:
                future.set_result(lookup(hostname))
            except Exception as error:  # any resolver error makes a failed lookup
                future.set_exception(error)

    for number in range(min(workers, len(futures))):
        threading.Thread(target=work, name=f"resolve-dns-{number}", daemon=True).start()
    return futures


def _answer(future: Future, hostname: str, started: dict[str, float], timeout: float) -> str | None:
    """The chosen address of one lookup, waiting at most `timeout` after it started."""
    while not future.done():
        began = started.get(hostname)  # None while it waits for a free worker
        if began is not None and time.monotonic() - began >= timeout:
            log.debug("dns: a lookup timed out after %s s", timeout)
            return None
        left = timeout if began is None else began + timeout - time.monotonic()
        wait([future], timeout=max(left, 0))
    error = future.exception()
    if error is not None:
        log.debug("dns: a lookup failed: %s", error_text(error))
        return None
    return choose_address(future.result())
