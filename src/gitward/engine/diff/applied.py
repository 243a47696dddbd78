"""Knowing, without a dry run, that applying an object would change nothing.

A dry run is the only exact prediction of an apply, but it is a PATCH and
costs a round trip per object. Two cheaper proofs that an apply is a no-op:

- `declared_unchanged`: the live object holds every value the desired
  object sets (lists element by element), and the fields gitward's own
  Apply entry in managedFields owns are all still in the desired object (a
  field dropped from Git is owned by us but no longer declared: the apply
  would remove it). Works across processes (a CI run). Values the server
  rewrites ("0.5" CPU stored as "500m") fail it, and the dry run decides.
- `AppliedMemo`: after an apply, the declared fields as the server stored
  them; the next sync of the same desired text compares with those.

Status churn and fields other controllers add (a Deployment's revision
annotation) are outside what the desired object sets, so neither proof is
defeated by them, while a `kubectl edit` of a declared field is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitward.engine.diff.normalize import desired_hash
from gitward.model.resource import ResourceKey
from gitward.model.sync import PlannedStep


def project(obj: Any, shape: Any) -> Any:
    """The parts of `obj` at the keys `shape` has; lists and scalars are taken whole."""
    if isinstance(shape, Mapping) and isinstance(obj, Mapping):
        return {k: project(obj.get(k), v) for k, v in shape.items()}
    return obj


def _uid(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("uid") or "") if isinstance(metadata, Mapping) else ""


class AppliedMemo:
    """Per object: (uid, hash of the desired object, the desired fields as the server stored them).

    Keep one per cluster for as long as the process lives (a controller); a
    fresh one (a CLI run) simply falls back to dry runs.
    """

    def __init__(self, limit: int = 50_000) -> None:
        self._entries: dict[ResourceKey, tuple[str, str, Any]] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, desired: Mapping[str, Any], stored: Mapping[str, Any]) -> None:
        if len(self._entries) >= self._limit:
            self._entries.pop(next(iter(self._entries)))
        key = ResourceKey.of(desired)
        self._entries[key] = (_uid(stored), desired_hash(desired), project(stored, desired))

    def forget(self, key: ResourceKey) -> None:
        self._entries.pop(key, None)

    def unchanged(self, desired: Mapping[str, Any], live: Mapping[str, Any] | None) -> bool:
        """True only when applying `desired` to `live` is known to change nothing."""
        entry = self._entries.get(ResourceKey.of(desired))
        if entry is None or live is None:
            return False
        uid, digest, values = entry
        if uid != _uid(live) or digest != desired_hash(desired):
            return False
        meta = live.get("metadata")
        if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
            return False
        return bool(project(live, desired) == values)


def agrees(live: Any, desired: Any) -> bool:
    """Whether `live` holds every value `desired` sets; lists must match element by element."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        return all(
            (value is None and key not in live) or agrees(live.get(key), value)
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(agrees(have, want) for have, want in zip(live, desired, strict=True))
        )
    return type(live) is type(desired) and bool(live == desired)


def _declares(fields: Mapping[str, Any], desired: Any) -> bool:
    """Whether every field in a managedFields FieldsV1 tree is still set by `desired`."""
    for name, below in fields.items():
        if name == ".":
            continue
        kind, _, rest = name.partition(":")
        if kind == "f":
            if not isinstance(desired, Mapping) or rest not in desired:
                return False
            target = desired[rest]
        elif kind == "k" and isinstance(desired, list):
            try:
                wanted = json.loads(rest)
            except ValueError:
                return False
            # A key field the manifest leaves to its default (a port's protocol) is matched by absence.
            found = [
                item
                for item in desired
                if isinstance(item, Mapping) and all(item.get(a, b) == b for a, b in wanted.items())
            ]
            if len(found) != 1:
                return False
            target = found[0]
        elif kind == "i" and isinstance(desired, list) and rest.isdigit() and int(rest) < len(desired):
            target = desired[int(rest)]
        elif kind == "v":
            continue  # a set of scalars: `agrees` compared the whole list already
        else:
            return False
        if isinstance(below, Mapping) and below and not _declares(below, target):
            return False
    return True


def declared_unchanged(desired: Mapping[str, Any], live: Mapping[str, Any] | None, manager: str) -> bool:
    """True only when applying `desired` (as `manager`) to `live` is known to change nothing."""
    if live is None:
        return False
    metadata = live.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("deletionTimestamp"):
        return False
    if not agrees(live, desired):
        return False
    ours = [
        entry
        for entry in metadata.get("managedFields") or ()
        if isinstance(entry, Mapping)
        and entry.get("manager") == manager
        and entry.get("operation") == "Apply"
        and not entry.get("subresource")
    ]
    if len(ours) != 1 or ours[0].get("apiVersion") != desired.get("apiVersion"):
        return False  # never applied by us, or under another version: let the dry run decide
    fields = ours[0].get("fieldsV1")
    return isinstance(fields, Mapping) and _declares(fields, desired)


def known_unchanged(
    memo: AppliedMemo, step: PlannedStep, live: Mapping[str, Any] | None, manager: str
) -> bool:
    """Either proof, for one planned object."""
    if memo.unchanged(step.obj, live):
        return True
    # That proof reads gitward's server-side Apply entry; a client-side apply writes none.
    return step.options.server_side_apply and declared_unchanged(step.obj, live, manager)
