"""The live copies a sync decides on, read once: one LIST for many objects of a kind, else a GET each.

A revision of 4,000 objects in one namespace costs a handful of paged
LISTs instead of 4,000 GETs; a kind with a few objects is read with GETs,
since listing a namespace full of someone else's objects would cost more.
A controller, which watches the kinds its apps deploy anyway, passes its
watch cache and the sync reads nothing (four GETs per app at a cold start).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from gitward.engine.sync import waits
from gitward.kube import ApiResource, Connection, KubeError, UnknownKind, Writer
from gitward.model.resource import ResourceKey

LIST_FROM = 20  # objects of one kind in one namespace before a LIST is cheaper than GETs
PAGE = 500


class Watched(Protocol):
    """A watch cache's copy (engine.diff.compare.WatchedLive); raises UnknownKind for a kind not served."""

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None: ...


class LiveRecorder:
    """The comparer's live source; whatever it reads is kept for the rest of the sync."""

    def __init__(self, writer: Writer, watched: Watched | None = None) -> None:
        self.writer = writer
        self.watched = watched
        self.seen: dict[ResourceKey, Mapping[str, Any] | None] = {}

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None:
        key = ResourceKey.of(desired)
        if key not in self.seen:
            self.seen[key] = await self._read(desired)
        return self.seen[key]

    async def _read(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None:
        if self.watched is not None:
            try:
                return await self.watched.get(desired)
            except (UnknownKind, KubeError):
                pass  # not watchable (yet): a GET says why, as without a cache
        return await waits.read(self.writer, desired)

    async def prefetch(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """LIST each (apiVersion, kind, namespace) holding many of `objects`; the rest are read on demand."""
        objects = list(objects)
        if self.watched is not None:
            return  # every read is a lookup in the watch cache
        groups = Counter(
            (str(o.get("apiVersion")), ResourceKey.of(o).kind, ResourceKey.of(o).namespace) for o in objects
        )
        busy = [group for group, count in groups.items() if count >= LIST_FROM]
        listed = await asyncio.gather(*(self._list(*group) for group in busy))
        for group, found in zip(busy, listed, strict=True):
            if found is None:
                continue  # the kind is unknown or the LIST was refused: the GETs will say why
            for obj in objects:
                key = ResourceKey.of(obj)
                if (str(obj.get("apiVersion")), key.kind, key.namespace) == group:
                    self.seen[key] = found.get(key)

    async def _list(
        self, api_version: str, kind: str, namespace: str
    ) -> dict[ResourceKey, dict[str, Any]] | None:
        try:
            resource = await self.writer.discovery.resolve(api_version, kind)
            items = await list_all(self.writer.connection, resource, namespace or None)
        except KubeError:
            return None
        return {ResourceKey.of(item): item for item in items}


async def list_all(
    connection: Connection, resource: ApiResource, namespace: str | None
) -> list[dict[str, Any]]:
    """Every object of one kind (in one namespace, or all with None), page by page."""
    found: list[dict[str, Any]] = []
    params = {"limit": str(PAGE)}
    while True:
        answer = await connection.request("GET", resource.path(namespace), params=params)
        for item in answer.get("items") or ():
            # Items of a list carry no apiVersion/kind; keys, comparisons and health rules need them.
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
            found.append(item)
        token = (answer.get("metadata") or {}).get("continue")
        if not token:
            return found
        params = {"limit": str(PAGE), "continue": token}
