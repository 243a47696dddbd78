"""List-then-watch for one kind, feeding the shared store; and the cache that starts them lazily.

A reflector lists (in pages), then watches from the list's resourceVersion
with bookmarks, so a quiet kind's version stays fresh and a reconnect does
not replay history. When the server answers 410 Gone (the version was
compacted away) it lists again: the list is the truth and the store is made
to match it, deletions included.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import structlog

from gitward.kube.connection import Connection
from gitward.kube.discovery import ApiResource, Discovery
from gitward.kube.errors import KubeError
from gitward.kube.store import Store
from gitward.model.resource import ResourceKey

log = structlog.get_logger(__name__)

PAGE_SIZE = 500
WATCH_SECONDS = 300  # the server ends a watch after this; we resume from the last version
MAX_BACKOFF = 10.0


class _Relist(Exception):
    """The watch's version is gone: list again."""


class Reflector:
    """Keeps the store's copy of one kind (in every namespace) equal to the cluster's."""

    def __init__(
        self, connection: Connection, resource: ApiResource, store: Store, namespace: str | None = None
    ) -> None:
        self.connection = connection
        self.resource = resource
        self.store = store
        # One namespace only (e.g. the controller's own Secrets), else every namespace.
        self.namespace = namespace
        self.resource_version = ""
        self.lists = 0  # how many times it listed: 1 when healthy, more after 410s
        self.synced = asyncio.Event()
        self.last_error: KubeError | None = None
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"reflector {self.resource.plural}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def restart_watch(self, resource_version: str | None = None) -> None:
        """Drop the current watch and resume from `resource_version` (default: the last one seen).

        For operators and tests: resuming from a version the server no longer
        has must end in a fresh list, never in a stale store.
        """
        if resource_version is not None:
            self.resource_version = resource_version
        if self._watch is not None:
            self._watch.cancel()

    def _complete(self, obj: dict[str, Any]) -> dict[str, Any]:
        # List items come without apiVersion and kind; the store keys objects by them.
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        return obj

    async def _list(self) -> None:
        objects: list[dict[str, Any]] = []
        params = {"limit": str(PAGE_SIZE)}
        while True:
            page = await self.connection.request("GET", self.resource.path(self.namespace), params=params)
            objects.extend(self._complete(item) for item in page.get("items") or [])
            metadata = page.get("metadata") or {}
            if not metadata.get("continue"):
                break
            params = {"limit": str(PAGE_SIZE), "continue": metadata["continue"]}
        self.store.replace_kind(self.resource.group, self.resource.kind, objects)
        self.resource_version = str(metadata.get("resourceVersion") or "")
        self.lists += 1
        self.synced.set()

    async def _watch_once(self) -> None:
        params = {
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version,
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        try:
            async for event in self.connection.watch(self.resource.path(self.namespace), params):
                self._handle(event)
        except KubeError as exc:
            if exc.gone:
                raise _Relist from exc
            raise

    def _handle(self, event: Mapping[str, Any]) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Relist
            raise KubeError(int(obj.get("code") or 0), str(obj.get("reason")), str(obj.get("message")))
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED"):
            self.store.upsert(self._complete(obj))
        elif kind == "DELETED":
            self.store.remove(ResourceKey.of(self._complete(obj)))
        if version:
            self.resource_version = str(version)

    async def _run(self) -> None:
        backoff = 0.2
        need_list = True
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                self._watch = asyncio.create_task(self._watch_once())
                try:
                    await self._watch
                except asyncio.CancelledError:
                    if self._task is not None and self._task.cancelling():
                        raise
                    continue  # restart_watch: resume at once
                finally:
                    self._watch = None
                backoff = 0.2
            except _Relist:
                log.info("watch version gone; listing again", kind=self.resource.kind)
                need_list = True
            except KubeError as exc:
                self.last_error = exc
                log.warning(
                    "watch failed; retrying", kind=self.resource.kind, error=str(exc), backoff=backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except Exception as exc:
                # A reflector that dies leaves a store that silently stops changing: never let it.
                self.last_error = KubeError(0, "Internal", f"{type(exc).__name__}: {exc}")
                log.exception("reflector failed; listing again", kind=self.resource.kind)
                need_list = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)


class WatchCache:
    """One store, and a reflector per kind started the first time someone needs that kind."""

    def __init__(self, connection: Connection, discovery: Discovery) -> None:
        self.connection = connection
        self.discovery = discovery
        self.store = Store()
        self._reflectors: dict[tuple[str, str], Reflector] = {}

    async def ensure(self, api_version: str, kind: str, timeout: float = 30.0) -> Reflector:
        """Watch `kind` (if not already) and return once its first list is in the store.

        A kind that cannot be listed (RBAC, a broken aggregated API) keeps
        retrying in the background; the caller gets the error after `timeout`.
        """
        resource = await self.discovery.resolve(api_version, kind)
        reflector = self._reflectors.get((resource.group, resource.kind))
        if reflector is None:
            reflector = Reflector(self.connection, resource, self.store)
            self._reflectors[(resource.group, resource.kind)] = reflector
            reflector.start()
        try:
            await asyncio.wait_for(reflector.synced.wait(), timeout)
        except TimeoutError:
            raise KubeError(
                0, "Timeout", f"could not list {resource.plural}: {reflector.last_error or 'no answer'}"
            ) from None
        return reflector

    async def ensure_all(self, kinds: Iterable[tuple[str, str]], timeout: float = 30.0) -> None:
        """`ensure` every (apiVersion, kind) of an app at once; their first lists run concurrently."""
        await asyncio.gather(*(self.ensure(v, k, timeout) for v, k in sorted(set(kinds))))

    def listed(self, group: str, kind: str) -> bool:
        """Whether `kind` is watched and its first list is in the store: what is absent is absent."""
        reflector = self._reflectors.get((group, kind))
        return reflector is not None and reflector.synced.is_set()

    @property
    def watched(self) -> list[ApiResource]:
        return [r.resource for r in self._reflectors.values()]

    async def aclose(self) -> None:
        await asyncio.gather(*(r.stop() for r in self._reflectors.values()))
        self._reflectors.clear()
