"""Figures a page needs that are neither stored nor computed yet, computed in the background.

A page asks for its figures through `Computations.figures`. When they arrive within the
settings' `compute_wait` (stored snapshots and figures already computed for the generation
do), the page is served at once. Otherwise the page answers "being computed" straight
away (`Pending`), the computation goes on in a worker thread, and the page reloads itself
until the figures are there: no request waits seconds for a scorecard of a month nobody
has asked for before, and the computation is never started twice for the same page.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from starlette.exceptions import HTTPException

WORKERS = 2  # the machine this is measured on has two cores
MAX_RUNNING = 16  # computations started or queued at once; beyond: 503, try again later


class Pending(Exception):
    """The figures are being computed; `started` says whether this request started them."""

    def __init__(self, started: bool):
        super().__init__("figures being computed")
        self.started = started


class Computations:
    """Background computations of page figures, one per key at a time, bounded."""

    def __init__(self, workers: int = WORKERS, limit: int = MAX_RUNNING):
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="page-figures")
        self.limit = limit
        self.running: dict[Hashable, Future] = {}
        self.lock = threading.Lock()

    def submit(self, key: Hashable, compute: Callable[[], object]) -> tuple[Future, bool]:
        """The running computation of `key`, else a new one; and whether it is new."""
        with self.lock:
            future = self.running.get(key)
            if future is not None:
                return future, False
            if len(self.running) >= self.limit:
                raise HTTPException(503, "Too many figures are being computed; try again soon.")
            future = self.pool.submit(compute)
            self.running[key] = future
        future.add_done_callback(lambda _done: self._forget(key, future))
        return future, True

    def _forget(self, key: Hashable, future: Future) -> None:
        with self.lock:
            if self.running.get(key) is future:
                del self.running[key]

    async def figures(self, key: Hashable, compute: Callable[[], object], wait: float | None):
        """The result of `compute`, if it is ready within `wait` seconds (None: however
        long it takes); else `Pending` while it goes on in the background. An exception of
        `compute` is raised here, to the request that collects the result."""
        future, started = self.submit(key, compute)
        waiting = asyncio.wrap_future(future)
        # asyncio.wait neither cancels the computation at the timeout nor leaves an error
        # unread: a request that gave up is not the one that reports it.
        waiting.add_done_callback(lambda done: done.cancelled() or done.exception())
        finished, _ = await asyncio.wait({waiting}, timeout=wait)
        if not finished:
            raise Pending(started)
        return waiting.result()

    def shutdown(self) -> None:
        """Stop taking work; computations under way finish in their threads."""
        self.pool.shutdown(wait=False, cancel_futures=True)
