"""Leader election on a coordination.k8s.io/v1 Lease, so two replicas never act at once.

A replica leads while it holds the Lease and renews it within the lease
duration. Every write carries the resourceVersion it read, so two replicas
racing for an expired Lease cannot both win: the apiserver refuses the
second with a conflict. Expiry is judged by this process's own clock, from
when it last saw the Lease record change, never by comparing another
machine's renewTime with ours: clocks skew, observations do not. A leader
that cannot renew in time steps down on its own, before another replica may
take over, and hands the Lease back when it stops so the next leader need not
wait for expiry.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.errors import KubeError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class LeaseConfig:
    namespace: str
    name: str = "gitward-controller"
    duration: float = 15.0
    # Renew well inside the duration, and give up leading before it ends.
    renew_every: float = 5.0
    renew_deadline: float = 10.0


def identity() -> str:
    """Unique per process: host name plus a random suffix, as a restarted pod must not reuse it."""
    return f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"


class LeaderElector:
    def __init__(self, connection: Connection, config: LeaseConfig, me: str | None = None) -> None:
        self.connection = connection
        self.config = config
        self.me = me or identity()
        self._leading = False
        self._last_renew = 0.0
        # The Lease record last seen (holder, renewTime, resourceVersion) and when, by our clock.
        self._seen: tuple[str, str, str] | None = None
        self._seen_at = 0.0

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def _path(self) -> str:
        c = self.config
        return f"/apis/coordination.k8s.io/v1/namespaces/{c.namespace}/leases/{c.name}"

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Campaign until elected, run `lead()` while leading; return when leadership is lost.

        `lead` is cancelled the moment renewal fails; the Lease is released when
        `lead` returns or this task is cancelled.
        """
        loop = asyncio.get_running_loop()
        while not await self._try_acquire():
            await asyncio.sleep(self.config.renew_every / 2)
        self._leading = True
        self._last_renew = loop.time()
        log.info("leading", lease=self.config.name, identity=self.me)
        work: asyncio.Task[None] = asyncio.create_task(lead())
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=self.config.renew_every)
                if work.done():
                    break
                if await self._try_acquire():
                    self._last_renew = loop.time()
                elif loop.time() - self._last_renew > self.config.renew_deadline:
                    log.warning("lost the lease", lease=self.config.name, identity=self.me)
                    break
        finally:
            self._leading = False
            if not work.done():
                work.cancel()
                await asyncio.gather(work, return_exceptions=True)
            await self._release()
        failure = work.exception() if work.done() and not work.cancelled() else None
        if failure is not None:
            raise failure

    async def _try_acquire(self) -> bool:
        """Take or renew the Lease if it is ours, free or expired; False otherwise."""
        now = _now()
        try:
            lease = await self.connection.request("GET", self._path)
        except KubeError as problem:
            if problem.not_found:
                return await self._write("POST", self._body(None, now, transitions=0))
            log.warning("lease read failed", error=str(problem))
            return False
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        record = (holder, str(spec.get("renewTime")), str(lease["metadata"].get("resourceVersion")))
        clock = asyncio.get_running_loop().time()
        if record != self._seen:
            self._seen, self._seen_at = record, clock
        duration = float(spec.get("leaseDurationSeconds") or 0)
        if holder and holder != self.me and clock < self._seen_at + duration:
            return False
        transitions = int(spec.get("leaseTransitions") or 0) + (0 if holder == self.me else 1)
        acquired = spec.get("acquireTime") if holder == self.me else None
        return await self._write("PUT", self._body(lease, now, transitions, acquired))

    async def _write(self, method: str, body: dict[str, Any]) -> bool:
        writer = Writer(self.connection)
        try:
            if method == "PUT":
                await writer.replace_at(self._path, body)
            else:
                await writer.create_at(self._path.rsplit("/", 1)[0], body)
        except KubeError as problem:
            if problem.code in (409,):  # another replica wrote first
                return False
            log.warning("lease write failed", error=str(problem))
            return False
        return True

    def _body(
        self, lease: dict[str, Any] | None, now: dt.datetime, transitions: int, acquired: str | None = None
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.config.name, "namespace": self.config.namespace}
        if lease is not None:
            metadata["resourceVersion"] = lease["metadata"]["resourceVersion"]
        stamp = _micro(now)
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": {
                "holderIdentity": self.me,
                "leaseDurationSeconds": max(1, round(self.config.duration)),
                "acquireTime": acquired or stamp,
                "renewTime": stamp,
                "leaseTransitions": transitions,
            },
        }

    async def _release(self) -> None:
        """Hand the Lease back (only if still ours), so a successor need not wait for expiry."""
        try:
            lease = await self.connection.request("GET", self._path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.me:
                return
            lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1}
            await Writer(self.connection).replace_at(self._path, lease)
        except (KubeError, asyncio.CancelledError) as problem:
            log.info("lease not released; it will expire", error=str(problem))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _micro(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
