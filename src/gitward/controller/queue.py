"""A keyed work queue: each app is queued at most once, handled by one worker at a time.

The shape client-go made standard, for asyncio: a key added while it waits is
not added twice; a key added while a worker handles it is handled once more
afterwards, never concurrently; a failing key comes back after an exponential
backoff (Argo CD's auto-sync retry: 5 s, doubling, capped at 3 min) until it
succeeds, which resets its backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gitward.controller.metrics import QUEUE_ADDS, QUEUE_DEPTH, QUEUE_RETRIES, RECONCILE_SECONDS

log = structlog.get_logger(__name__)

# Apps reconciled at once. A pass mostly waits (apiserver round trips, a wave's health, Git), so
# workers cost little CPU, while too few serialise a cold start: 4 took 107 s for 100 apps on 2
# busy cores. Argo CD advises 50 status and 25 operation processors for 1,000 apps.
DEFAULT_WORKERS = 25


@dataclass(frozen=True)
class Backoff:
    base: float = 5.0
    factor: float = 2.0
    cap: float = 180.0

    def delay(self, failures: int) -> float:
        """The wait before retry number `failures` (1 for the first retry)."""
        return float(min(self.cap, self.base * self.factor ** max(0, failures - 1)))


class ShutDown(Exception):
    """The queue was shut down; workers stop."""


class WorkQueue:
    def __init__(self, backoff: Backoff | None = None) -> None:
        self.backoff = backoff or Backoff()
        # None is the shutdown sentinel; each getter that sees it puts it back for the next.
        self._items: asyncio.Queue[str | None] = asyncio.Queue()
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        # Added again while being processed: handle once more when done.
        self._again: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._closed = False

    def __len__(self) -> int:
        """Keys waiting to be handled (the work-queue depth metric)."""
        return len(self._queued)

    def add(self, key: str) -> None:
        if self._closed:
            return
        if key in self._processing:
            self._again.add(key)
            return
        if key in self._queued:
            return
        self._queued.add(key)
        self._items.put_nowait(key)
        QUEUE_ADDS.inc()
        QUEUE_DEPTH.set(len(self._queued))

    def add_after(self, key: str, delay: float) -> None:
        """Queue `key` after `delay` seconds; of two pending timers for it, the sooner is kept
        (a retry's backoff or a sync window's opening must not wait for the next poll)."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        pending = self._timers.get(key)
        if pending is not None:
            if pending.when() <= loop.time() + max(0.0, delay):
                return
            pending.cancel()

        def fire() -> None:
            self._timers.pop(key, None)
            self.add(key)

        self._timers[key] = loop.call_later(max(0.0, delay), fire)

    def retry(self, key: str) -> float:
        """Queue `key` again after its backoff; returns the delay chosen."""
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        QUEUE_RETRIES.inc()
        delay = self.backoff.delay(failures)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """`key` succeeded: its next failure starts the backoff afresh."""
        self._failures.pop(key, None)

    def drop(self, key: str) -> None:
        """`key` is gone for good (its app was deleted): no timer, no backoff, no second pass."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._failures.pop(key, None)
        self._again.discard(key)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> str:
        """The next key; the caller must call `done(key)` when finished with it."""
        key = await self._items.get()
        if key is None:
            self._items.put_nowait(None)
            raise ShutDown
        self._queued.discard(key)
        QUEUE_DEPTH.set(len(self._queued))
        self._processing.add(key)
        return key

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._again:
            self._again.discard(key)
            self.add(key)

    def shutdown(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._items.put_nowait(None)


Handler = Callable[[str], Awaitable[None]]


async def run_workers(queue: WorkQueue, handler: Handler, workers: int) -> None:
    """Run `workers` loops until the queue shuts down; a failing key is retried with backoff."""

    async def work(number: int) -> None:
        me = asyncio.current_task()
        while True:
            # A cancel that a library swallowed (Python 3.11's wait_for loses one that races with
            # its inner task finishing) still ends the worker: otherwise a stopping controller
            # would keep reconciling, and its shutdown would hang waiting for this loop.
            if me is not None and me.cancelling():
                raise asyncio.CancelledError
            try:
                key = await queue.get()
            except ShutDown:
                return
            started = time.monotonic()
            try:
                await handler(key)
            except Exception as problem:  # one app's failure must never stop a worker
                RECONCILE_SECONDS.labels("error").observe(time.monotonic() - started)
                delay = queue.retry(key)
                log.warning("reconcile failed", key=key, worker=number, error=str(problem), retry_in=delay)
            else:
                RECONCILE_SECONDS.labels("ok").observe(time.monotonic() - started)
                queue.forget(key)
                log.debug("reconciled", key=key, worker=number, seconds=round(time.monotonic() - started, 3))
            finally:
                queue.done(key)

    await asyncio.gather(*(work(n) for n in range(workers)))
