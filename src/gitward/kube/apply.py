"""Every write to the cluster goes through `Writer`: apply, create, replace, patch and delete.

Objects of any kind are found through discovery; the few objects gitward
keeps for itself (its Applications and their status, token Secrets, the
leader Lease, Events) are written at the paths their owners know. Dicts in
and out; refusals are KubeErrors that never quote a Secret's value.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any

from gitward.kube.connection import Connection
from gitward.kube.discovery import ApiResource, Discovery
from gitward.kube.errors import KubeError
from gitward.kube.store import resource_version
from gitward.model.content_types import APPLY_PATCH, JSON_PATCH, MERGE_PATCH
from gitward.model.resource import ResourceKey

FIELD_MANAGER = "gitward"


class Propagation(enum.StrEnum):
    """What happens to an object's dependents (a Deployment's ReplicaSets) when it is deleted."""

    foreground = "Foreground"
    background = "Background"
    orphan = "Orphan"


# The apiserver quotes a mistyped value in this form ("expected string, got &value...{Value:12345}").
_QUOTED_VALUE = re.compile(r"&value\.valueUnstructured\{Value:.*?\}")
HIDDEN = "(value hidden)"


def scrub(error: KubeError, obj: Mapping[str, Any]) -> KubeError:
    """`error` without any value it quotes from `obj`'s Secret data: errors end up in logs and events."""
    message = _QUOTED_VALUE.sub(HIDDEN, error.message)
    if obj.get("kind") == "Secret":
        for section in ("data", "stringData"):
            values = obj.get(section)
            for value in values.values() if isinstance(values, Mapping) else ():
                # Very short values would blank out unrelated characters; the pattern above covers them.
                if len(str(value)) >= 4:
                    message = message.replace(str(value), HIDDEN)
    if message == error.message:
        return error
    return KubeError(error.code, error.reason, message, error.fields)


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    metadata = obj.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    if not (isinstance(api_version, str) and isinstance(kind, str) and isinstance(name, str) and name):
        raise KubeError(0, "Invalid", "an object needs apiVersion, kind and metadata.name")
    return api_version, kind, str(namespace), name


async def _resource_for(
    discovery: Discovery, api_version: str, kind: str, namespace: str, name: str
) -> ApiResource:
    resource = await discovery.resolve(api_version, kind)
    if resource.namespaced and not namespace:
        raise KubeError(0, "Invalid", f"{kind} {name}: a namespaced kind needs metadata.namespace")
    return resource


class Writer:
    """Writes through one connection, resolving kinds through discovery (made when not given)."""

    def __init__(
        self, connection: Connection, discovery: Discovery | None = None, field_manager: str = FIELD_MANAGER
    ) -> None:
        self.connection = connection
        self.discovery = discovery if discovery is not None else Discovery(connection)
        self.field_manager = field_manager
        # The resourceVersion our last write of each object made: a read from a watch cache can
        # wait for the watch to show its own write (`WatchedLive`) instead of judging an older copy.
        self.written: dict[ResourceKey, int] = {}
        # The uid of each object our own DELETE removed (or marked for removal): a watch cache that
        # has not shown the delete yet must not make that object look like one still to prune.
        self.deleted: dict[ResourceKey, str] = {}

    async def apply(
        self, obj: Mapping[str, Any], *, force: bool = False, dry_run: bool = False, strict: bool = True
    ) -> dict[str, Any]:
        """Server-side apply `obj`; the object as the server stored it (or would have, with dry_run).

        `force` takes fields owned by other managers (a kubectl edit) back;
        `strict` makes an unknown or duplicated field an error naming it,
        where the server would otherwise drop it silently.
        """
        extra = {"force": "true"} if force else {}
        # JSON is YAML, so dicts go as JSON.
        return await self._patch(obj, obj, APPLY_PATCH, dry_run, strict, extra)

    async def merge_patch(
        self,
        obj: Mapping[str, Any],
        patch: Mapping[str, Any],
        *,
        dry_run: bool = False,
        strict: bool = True,
    ) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) of the object `obj` names: client-side apply's write."""
        return await self._patch(obj, patch, MERGE_PATCH, dry_run, strict, {})

    async def create(
        self, obj: Mapping[str, Any], *, strict: bool = True, dry_run: bool = False
    ) -> dict[str, Any]:
        """POST `obj`: the only way to create an object with `generateName` (hooks), and Replace's create."""
        key = ResourceKey.of(obj)  # no name yet with generateName
        api_version = str(obj.get("apiVersion"))
        resource = await _resource_for(self.discovery, api_version, key.kind, key.namespace, key.name)
        try:
            answer: dict[str, Any] = await self.connection.request(
                "POST", resource.path(key.namespace), params=self._params(strict, dry_run), body=obj
            )
        except KubeError as exc:
            raise scrub(exc, obj) from None
        return answer

    async def replace(
        self, obj: Mapping[str, Any], resource_version: str | None, *, strict: bool = True
    ) -> dict[str, Any]:
        """PUT `obj` over the live object, refused (409) if it changed since `resource_version`."""
        api_version, kind, namespace, name = _identity(obj)
        resource = await _resource_for(self.discovery, api_version, kind, namespace, name)
        body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": resource_version}}
        try:
            answer: dict[str, Any] = await self.connection.request(
                "PUT", resource.path(namespace, name), params=self._params(strict, False), body=body
            )
        except KubeError as exc:
            raise scrub(exc, obj) from None
        return answer

    def _params(self, strict: bool, dry_run: bool) -> dict[str, str]:
        params = {"fieldManager": self.field_manager, "fieldValidation": "Strict" if strict else "Ignore"}
        if dry_run:
            params["dryRun"] = "All"
        return params

    async def _patch(
        self,
        obj: Mapping[str, Any],
        body: Mapping[str, Any],
        content_type: str,
        dry_run: bool,
        strict: bool,
        extra: Mapping[str, str],
    ) -> dict[str, Any]:
        api_version, kind, namespace, name = _identity(obj)
        resource = await _resource_for(self.discovery, api_version, kind, namespace, name)
        params = {**self._params(strict, dry_run), **extra}
        try:
            answer: dict[str, Any] = await self.connection.request(
                "PATCH", resource.path(namespace, name), params=params, body=body, content_type=content_type
            )
        except KubeError as exc:
            raise scrub(exc, obj) from None
        if not dry_run and (version := resource_version(answer)) is not None:
            self.written[ResourceKey.of(answer)] = version
        return answer

    async def get(self, api_version: str, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        """The live object, or None when it does not exist."""
        resource = await _resource_for(self.discovery, api_version, kind, namespace, name)
        try:
            answer: dict[str, Any] = await self.connection.request("GET", resource.path(namespace, name))
        except KubeError as exc:
            if exc.not_found:
                return None
            raise
        return answer

    async def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str = "",
        *,
        propagation: Propagation = Propagation.foreground,
        dry_run: bool = False,
        uid: str | None = None,
    ) -> bool:
        """Delete one object; False when it was already gone.

        With `uid`, the server deletes only that very object: a copy
        re-created under the same name since we looked is left alone.
        """
        resource = await _resource_for(self.discovery, api_version, kind, namespace, name)
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": str(propagation),
        }
        if dry_run:
            body["dryRun"] = ["All"]
        if uid is not None:
            body["preconditions"] = {"uid": uid}
        try:
            answer = await self.connection.request("DELETE", resource.path(namespace, name), body=body)
        except KubeError as exc:
            if exc.not_found:
                return False
            raise
        # The answer is the object (marked for deletion) or a Status naming its uid.
        found = answer if isinstance(answer, dict) else {}
        gone = uid or (found.get("metadata") or {}).get("uid") or (found.get("details") or {}).get("uid")
        if gone and not dry_run:
            key = ResourceKey(resource.group, resource.kind, namespace if resource.namespaced else "", name)
            self.deleted[key] = str(gone)
        return True

    def deleting(self, obj: Mapping[str, Any]) -> bool:
        """Whether `obj` (a live copy, perhaps from a lagging watch cache) is on its way out:
        marked for deletion, or that very object deleted by us."""
        meta = obj.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return True
        return bool(meta.get("uid")) and self.deleted.get(ResourceKey.of(obj)) == meta.get("uid")

    # Writes at a path the caller knows: gitward's own objects (Applications and their status, token
    # Secrets, the leader Lease, Events), whose kinds need no discovery. No field manager is named:
    # the server's default has always owned these fields, and managedFields are visible to users.

    async def create_at(self, collection: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """POST `obj` into the collection at `collection`; 409 when its name is taken."""
        made: dict[str, Any] = await self.connection.request("POST", collection, body=obj)
        return made

    async def replace_at(self, path: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """PUT `obj` at `path`; with metadata.resourceVersion in it, refused (409) if someone wrote first."""
        done: dict[str, Any] = await self.connection.request("PUT", path, body=obj)
        return done

    async def merge_patch_at(self, path: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """A JSON merge patch (RFC 7386) of the object (or subresource, `.../status`) at `path`."""
        done: dict[str, Any] = await self.connection.request(
            "PATCH", path, body=patch, content_type=MERGE_PATCH
        )
        return done

    async def json_patch_at(self, path: str, operations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """A JSON patch (RFC 6902); a failing `test` operation makes the server refuse it all (422)."""
        done: dict[str, Any] = await self.connection.request(
            "PATCH", path, body=list(operations), content_type=JSON_PATCH
        )
        return done

    async def delete_at(self, path: str) -> None:
        """DELETE the object at `path` with the server's default propagation for its kind."""
        await self.connection.request("DELETE", path)
