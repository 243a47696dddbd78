"""An app's resource tree: the objects it manages, then what controllers made from them.

The managed objects come from the app's `status.resources`; their children
are found by ownerReferences (Deployment -> ReplicaSet -> Pod, CronJob ->
Job -> Pod, ...), one LIST per child kind and namespace, only for kinds that
have children. Health is judged per object by `gitward.engine.health.assess`, the
same function the controller uses. Each node names its parents by uid, so a
UI draws the graph from the flat list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from gitward.engine.health.assess import assess
from gitward.kube import Discovery, KubeError, Writer

# (group, kind) -> the kinds whose objects it owns, as (apiVersion, kind).
CHILDREN: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("apps", "Deployment"): (("apps/v1", "ReplicaSet"),),
    ("apps", "ReplicaSet"): (("v1", "Pod"),),
    ("apps", "StatefulSet"): (("v1", "Pod"),),
    ("apps", "DaemonSet"): (("v1", "Pod"),),
    ("batch", "CronJob"): (("batch/v1", "Job"),),
    ("batch", "Job"): (("v1", "Pod"),),
}
MAX_NODES = 5000  # a runaway ReplicaSet history must not make an answer of megabytes


def node(obj: Mapping[str, Any], parents: list[dict[str, str]], sync_status: str | None) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    api_version = str(obj.get("apiVersion", ""))
    group, _, version = api_version.rpartition("/")
    health = assess(obj)
    out: dict[str, Any] = {
        "group": group,
        "version": version,
        "kind": obj.get("kind", ""),
        "namespace": metadata.get("namespace", ""),
        "name": metadata.get("name", ""),
        "uid": metadata.get("uid", ""),
        "createdAt": metadata.get("creationTimestamp"),
        "parentRefs": parents,
        "health": {"status": str(health.status), "message": health.message} if health else None,
    }
    if sync_status is not None:
        out["status"] = sync_status
    return out


def _ref(n: Mapping[str, Any]) -> dict[str, str]:
    return {k: n[k] for k in ("group", "kind", "namespace", "name", "uid")}


class TreeBuilder:
    def __init__(self, writer: Writer, discovery: Discovery) -> None:
        self.writer = writer
        self.discovery = discovery

    async def build(self, app: Mapping[str, Any]) -> list[dict[str, Any]]:
        managed = list((app.get("status") or {}).get("resources") or [])
        nodes = list(await asyncio.gather(*(self._managed(r) for r in managed)))
        lists: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        frontier = [n for n in nodes if n.get("uid")]
        while frontier and len(nodes) < MAX_NODES:
            found: list[dict[str, Any]] = []
            for parent in frontier:
                for api_version, kind in CHILDREN.get((parent["group"], parent["kind"]), ()):
                    candidates = await self._list(lists, api_version, kind, parent["namespace"])
                    found.extend(
                        node(child, [_ref(parent)], None)
                        for child in candidates
                        if any(
                            o.get("uid") == parent["uid"]
                            for o in (child.get("metadata") or {}).get("ownerReferences") or []
                        )
                    )
            nodes.extend(found[: MAX_NODES - len(nodes)])
            frontier = found
        return nodes

    async def _managed(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        group, kind = str(resource.get("group", "")), str(resource.get("kind", ""))
        name, namespace = str(resource.get("name", "")), str(resource.get("namespace", ""))
        sync_status = str(resource.get("status") or "Unknown")
        live: dict[str, Any] | None = None
        version = str(resource.get("version") or "")
        try:
            if not version:
                version = (await self.discovery.preferred(group, kind)).version
            api_version = f"{group}/{version}" if group else version
            live = await self.writer.get(api_version, kind, name, namespace)
        except KubeError:
            api_version = f"{group}/{version}" if group else version
        if live is None:
            missing = {
                "apiVersion": api_version,
                "kind": kind,
                "metadata": {"name": name, "namespace": namespace},
            }
            out = node(missing, [], sync_status)
            out["health"] = {"status": "Missing", "message": ""}
            return out
        return node(live, [], sync_status)

    async def _list(
        self,
        lists: dict[tuple[str, str, str], list[dict[str, Any]]],
        api_version: str,
        kind: str,
        namespace: str,
    ) -> list[dict[str, Any]]:
        key = (api_version, kind, namespace)
        if key not in lists:
            resource = await self.discovery.resolve(api_version, kind)
            try:
                answer = await self.writer.connection.request("GET", resource.path(namespace))
            except KubeError:
                answer = {}
            items = answer.get("items") or []
            for item in items:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
            lists[key] = items
        return lists[key]
