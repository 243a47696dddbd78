"""Which resources the cluster serves: (group, version, kind) <-> plural, scope, verbs.

Two requests with aggregated discovery (`/api` and `/apis`, Kubernetes 1.30+),
else the classic walk over every group version. The answer is kept until a
lookup misses: an unknown kind re-discovers (a CRD may just have been
created), at most once per `min_refresh` seconds, so a typo in a manifest
does not hammer the apiserver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from gitward.kube.connection import Connection
from gitward.kube.errors import KubeError

_AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


@dataclass(frozen=True)
class ApiResource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (all namespaces when `namespace` is None) or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return f"{base}/{quote(name, safe='')}" if name else base


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class UnknownKind(KubeError):
    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(
            404, "UnknownKind", f"the cluster serves no {kind} in {api_version or '(no apiVersion)'}"
        )


class Discovery:
    """The cluster's resources, re-discovered when asked for a kind it does not know."""

    def __init__(self, connection: Connection, min_refresh: float = 2.0, aggregated: bool = True) -> None:
        self._connection = connection
        self._accept = _AGGREGATED if aggregated else "application/json"
        self._min_refresh = min_refresh
        self._by_gvk: dict[tuple[str, str, str], ApiResource] = {}
        self._preferred: dict[tuple[str, str], ApiResource] = {}
        self._refreshed_at = float("-inf")
        self._lock = asyncio.Lock()

    @property
    def resources(self) -> list[ApiResource]:
        return list(self._by_gvk.values())

    async def refresh(self) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._refreshed_at >= started:  # another caller refreshed while we waited
                return
            found = await self._discover()
            self._by_gvk, self._preferred = {}, {}
            for resource in found:
                self._by_gvk.setdefault((resource.group, resource.version, resource.kind), resource)
                self._preferred.setdefault((resource.group, resource.kind), resource)
            self._refreshed_at = time.monotonic()

    async def resolve(self, api_version: str, kind: str) -> ApiResource:
        """The resource serving `kind` in `api_version`; UnknownKind if the cluster has none."""
        group, version = split_api_version(api_version)
        return await self._lookup((group, version, kind), api_version, kind)

    async def preferred(self, group: str, kind: str) -> ApiResource:
        """The server's preferred version of group/kind (tracking ids name no version)."""
        return await self._lookup((group, kind), f"{group}/*" if group else "*", kind)

    def _current(self, key: tuple[str, ...]) -> ApiResource | None:
        if len(key) == 3:
            return self._by_gvk.get((key[0], key[1], key[2]))
        return self._preferred.get((key[0], key[1]))

    async def _lookup(self, key: tuple[str, ...], api_version: str, kind: str) -> ApiResource:
        found = self._current(key)
        if found is None and time.monotonic() - self._refreshed_at >= self._min_refresh:
            await self.refresh()
            found = self._current(key)
        if found is None:
            raise UnknownKind(api_version, kind)
        return found

    async def _discover(self) -> list[ApiResource]:
        found: list[ApiResource] = []
        for root in ("/api", "/apis"):
            answer = await self._connection.request("GET", root, accept=self._accept)
            if isinstance(answer, dict) and answer.get("kind") == "APIGroupDiscoveryList":
                found.extend(_from_aggregated(answer))
            else:
                found.extend(await self._classic(root, answer))
        return found

    async def _classic(self, root: str, answer: Any) -> list[ApiResource]:
        if root == "/api":
            group_versions = [("", v) for v in answer.get("versions", [])]
        else:
            group_versions = [
                (g["name"], v["version"]) for g in answer.get("groups", []) for v in g.get("versions", [])
            ]
        lists = await asyncio.gather(
            *(
                self._connection.request("GET", f"{root}/{g}/{v}" if g else f"{root}/{v}")
                for g, v in group_versions
            ),
            return_exceptions=True,
        )
        found: list[ApiResource] = []
        for (group, version), listing in zip(group_versions, lists, strict=True):
            # An aggregated API whose backend is down fails alone; the rest of the cluster is still known.
            if isinstance(listing, BaseException) or not isinstance(listing, dict):
                continue
            for item in listing.get("resources", []):
                if "/" not in item["name"]:
                    found.append(
                        ApiResource(
                            group,
                            version,
                            item["kind"],
                            item["name"],
                            bool(item.get("namespaced")),
                            frozenset(item.get("verbs", [])),
                        )
                    )
        return found


def _from_aggregated(answer: Mapping[str, Any]) -> Iterable[ApiResource]:
    for group_entry in answer.get("items", []):
        group = group_entry.get("metadata", {}).get("name", "")
        for version_entry in group_entry.get("versions", []):
            version = version_entry["version"]
            for item in version_entry.get("resources", []):
                kind = (item.get("responseKind") or {}).get("kind")
                if not kind:
                    continue
                yield ApiResource(
                    group,
                    version,
                    kind,
                    item["resource"],
                    item.get("scope") == "Namespaced",
                    frozenset(item.get("verbs", [])),
                )
