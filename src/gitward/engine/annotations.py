"""The annotations the sync engine reads, and how to read one of them.

Each has our name and Argo CD's, so manifests written for Argo CD work
unchanged; when an object carries both, ours wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.model.resource import TRACKING_ANNOTATION, ResourceKey
from gitward.model.sync import SyncSpecError

TRACKING_ID = TRACKING_ANNOTATION
SYNC_OPTIONS = ("gitward.dev/sync-options", "argocd.argoproj.io/sync-options")
SYNC_WAVE = ("gitward.dev/sync-wave", "argocd.argoproj.io/sync-wave")
HOOK = ("gitward.dev/hook", "argocd.argoproj.io/hook")
HOOK_DELETE_POLICY = ("gitward.dev/hook-delete-policy", "argocd.argoproj.io/hook-delete-policy")
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    found = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def first(obj: Mapping[str, Any], names: tuple[str, ...] | str) -> tuple[str, str] | None:
    """(name, value) of the first of `names` the object carries; a non-string value is an error."""
    annotations = annotations_of(obj)
    for name in (names,) if isinstance(names, str) else names:
        if name in annotations:
            value = annotations[name]
            if not isinstance(value, str):
                raise SyncSpecError(f"{describe(obj)}: annotation {name} must be a string")
            return name, value
    return None


def csv(value: str) -> list[str]:
    """Comma-separated items, trimmed; empty items (a trailing comma) are not items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def describe(obj: Mapping[str, Any]) -> str:
    """How errors name an object: kind, namespace/name (or generateName)."""
    key = ResourceKey.of(obj)
    if key.name:
        return str(key)
    metadata = obj.get("metadata")
    generate = metadata.get("generateName") if isinstance(metadata, Mapping) else None
    if isinstance(generate, str) and generate:
        return str(ResourceKey(key.group, key.kind, key.namespace, generate + "*"))
    return str(key)
