"""Refresh requests for pushed apps, coalesced: a burst of pushes costs each app one patch.

Pushes add apps to a pending set; a flusher sets `gitward.dev/refresh:
normal` on each, at most `parallel` patches at a time, and at most one
batch per `delay`: a lone push is patched at once, the rest of a burst
waits for the next batch. An app whose refresh is still outstanding
(the annotation is on it, or our patch has not come back through the
watch yet) stays pending instead of being patched again: the controller
fetches Git when it acts on the annotation, and may already have fetched
when a later push arrived, so the app is patched once more after the
controller clears the annotation, unless its status already reports the
pushed commit: then the push has nothing left to bring. A flood of one
push therefore costs each app a patch or two, not a patch per push.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog
from prometheus_client import Counter

from gitward.kube import Connection, KubeError, Writer
from gitward.model.operation import REFRESH_ANNOTATIONS
from gitward.model.requests import refresh_patch
from gitward.server.index import AppIndex, AppKey
from gitward.server.state import ServerSettings

log = structlog.get_logger(__name__)

PATCHES = Counter(
    "gitward_webhook_refresh_patches_total",
    "Refresh annotations written for webhook pushes, by outcome.",
    ["result"],
)


def _annotated(app: Mapping[str, Any]) -> bool:
    annotations = (app.get("metadata") or {}).get("annotations") or {}
    return any(a in annotations for a in REFRESH_ANNOTATIONS)


def _revisions(app: Mapping[str, Any]) -> set[str]:
    sync = (app.get("status") or {}).get("sync") or {}
    found = [sync.get("revision"), *(sync.get("revisions") or [])]
    return {str(r).lower() for r in found if r}


def _version(app: Mapping[str, Any]) -> str:
    return str((app.get("metadata") or {}).get("resourceVersion") or "")


class RefreshQueue:
    def __init__(
        self,
        connection: Connection,
        index: AppIndex,
        settings: ServerSettings,
        *,
        delay: float = 0.2,
        parallel: int = 20,
    ) -> None:
        self.connection = connection
        self.index = index
        self.settings = settings
        self.delay = delay
        self.parallel = parallel
        # App -> the newest pushed commit (None: unknown); an app already at it needs no refresh.
        self._pending: dict[AppKey, str | None] = {}
        # App -> its resourceVersion before our patch; outstanding until a newer copy lacks the annotation.
        self._outstanding: dict[AppKey, str] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flushed = float("-inf")

    def add(self, keys: list[AppKey], sha: str | None = None) -> None:
        if not keys:
            return
        for key in keys:
            known = key not in self._pending or self._pending[key] is not None
            self._pending[key] = sha if known else None
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="webhook-refresh")

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            loop = asyncio.get_running_loop()
            wait = self._flushed + self.delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)  # the rest of a burst lands in this batch
            self._flushed = loop.time()
            ready = [key for key in list(self._pending) if not self._busy(key)]
            for key in ready:
                del self._pending[key]
            for start in range(0, len(ready), self.parallel):
                await asyncio.gather(*(self._patch(key) for key in ready[start : start + self.parallel]))
            if self._pending:
                self._wake.set()  # some are waiting on an outstanding refresh: look again shortly

    def _busy(self, key: AppKey) -> bool:
        """Whether the app must wait; an app with nothing left to do leaves the pending set."""
        app = self.index.get(*key)
        sha = self._pending.get(key)
        if app is None or (sha is not None and sha in _revisions(app)):
            # Deleted meanwhile, or the controller already reports the pushed commit.
            self._pending.pop(key, None)
            if app is not None:
                PATCHES.labels("unneeded").inc()
            return True
        before = self._outstanding.get(key)
        if _annotated(app) or (before is not None and _version(app) == before):
            return True
        self._outstanding.pop(key, None)
        return False

    async def _patch(self, key: AppKey) -> None:
        namespace, name = key
        app = self.index.get(namespace, name)
        if app is None:
            return
        try:
            await Writer(self.connection).merge_patch_at(
                self.settings.resource.path(namespace, name),
                refresh_patch(self.settings.resource),
            )
        except KubeError as problem:
            PATCHES.labels("error").inc()
            if not problem.not_found:
                log.warning("webhook refresh failed", app=f"{namespace}/{name}", error=str(problem))
            return
        PATCHES.labels("written").inc()
        self._outstanding[key] = _version(app)
