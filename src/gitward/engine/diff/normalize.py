"""Making two versions of an object comparable: strip what the server owns, mask secrets, show a diff.

Pure functions. The live side and the desired side (a server-side dry-run
apply, so defaults and webhooks are already in it) both pass `normalize`;
what is left differs only where the user's intent and the cluster disagree.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import yaml

from gitward.engine.trees import object_copy, tree_copy

# Written by the apiserver on every object; never part of what Git declares.
SERVER_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp")
MASK = "++++++++"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def normalize(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `obj` without status and the server's bookkeeping metadata."""
    # Left out before copying: managedFields and status are most of a live object.
    out = {k: tree_copy(v) for k, v in obj.items() if k not in ("status", "metadata")}
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        out["metadata"] = {k: tree_copy(v) for k, v in metadata.items() if k not in SERVER_METADATA}
    elif "metadata" in obj:
        out["metadata"] = tree_copy(metadata)
    return {k: out[k] for k in obj if k in out}  # in the object's own order, as diffs show it


def desired_hash(obj: Mapping[str, Any]) -> str:
    """A digest of a desired object: equal manifests, equal digests (cache keys)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def is_secret(obj: Mapping[str, Any] | None) -> bool:
    return obj is not None and obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def _secret_values(obj: Mapping[str, Any] | None) -> list[Any]:
    if obj is None:
        return []
    values: list[Any] = []
    for section in ("data", "stringData"):
        data = obj.get(section)
        if isinstance(data, Mapping):
            values.extend(data[k] for k in sorted(data))
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if isinstance(annotations, Mapping) and LAST_APPLIED in annotations:
        values.append(annotations[LAST_APPLIED])
    return values


def mask_secrets(
    desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both sides of a Secret with every value replaced by `+` signs; other kinds are returned as copies.

    Equal values get the same mask and different values different masks (8
    signs for the first distinct value, 9 for the second, ...), numbered over
    both sides, so a diff still shows which keys changed and never what
    they hold. kubectl's last-applied annotation holds the whole Secret in
    clear text, so it is masked too.
    """
    if not (is_secret(desired) or is_secret(live)):
        return _copy(desired), _copy(live)
    masks: dict[str, str] = {}
    for value in [*_secret_values(desired), *_secret_values(live)]:
        masks.setdefault(repr(value), MASK + "+" * len(masks))
    return _masked(desired, masks), _masked(live, masks)


def _copy(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return object_copy(obj) if obj is not None else None


def _masked(obj: Mapping[str, Any] | None, masks: Mapping[str, str]) -> dict[str, Any] | None:
    out = _copy(obj)
    if out is None:
        return None
    for section in ("data", "stringData"):
        data = out.get(section)
        if isinstance(data, dict):
            out[section] = {k: masks[repr(v)] for k, v in data.items()}
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = masks[repr(annotations[LAST_APPLIED])]
    return out


def _as_yaml(obj: Mapping[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    text: str = yaml.dump(dict(obj), Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False)
    return text.splitlines(keepends=True)


def unified(desired: Mapping[str, Any] | None, live: Mapping[str, Any] | None, name: str) -> str:
    """A unified YAML diff from live to desired ("" when equal), normalised and with secrets masked."""
    masked_desired, masked_live = mask_secrets(
        normalize(desired) if desired is not None else None, normalize(live) if live is not None else None
    )
    return "".join(
        difflib.unified_diff(
            _as_yaml(masked_live), _as_yaml(masked_desired), fromfile=f"live/{name}", tofile=f"desired/{name}"
        )
    )
