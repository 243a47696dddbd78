"""The live objects an app tracks, found by listing the cluster (push mode has no watch cache).

Pruning must see objects of kinds the revision no longer declares at all
(the last ConfigMap removed from Git), so every kind that can be listed and
deleted is listed, in every namespace. The controller passes its watch
cache's copy instead and never pays this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gitward.engine.sync.live import list_all
from gitward.engine.tracking import owner
from gitward.kube import ApiResource, Discovery, KubeError
from gitward.kube.connection import Connection

# Never tracked by anyone, and numerous: listing them would only cost time.
_SKIPPED = frozenset(
    {("", "Event"), ("events.k8s.io", "Event"), ("", "Node"), ("coordination.k8s.io", "Lease")}
)


def _listable(resources: list[ApiResource]) -> list[ApiResource]:
    chosen: dict[tuple[str, str], ApiResource] = {}
    for resource in resources:
        if {"list", "delete"} <= resource.verbs and (resource.group, resource.kind) not in _SKIPPED:
            chosen.setdefault((resource.group, resource.kind), resource)
    return list(chosen.values())


async def tracked_by(app: str, connection: Connection, discovery: Discovery) -> list[Mapping[str, Any]]:
    """Every live object whose tracking id names it and `app`; a kind that cannot be listed is skipped."""
    await discovery.refresh()
    kinds = _listable(discovery.resources)
    limit = asyncio.Semaphore(10)

    async def one(resource: ApiResource) -> list[dict[str, Any]]:
        async with limit:
            try:
                return await list_all(connection, resource, None)
            except KubeError:
                # An aggregated API whose backend is down, or a kind we may not list: its objects are
                # not seen, so none of them is pruned, which errs on the safe side.
                return []

    lists = await asyncio.gather(*(one(r) for r in kinds))
    return [obj for objects in lists for obj in objects if owner(obj) == app]
