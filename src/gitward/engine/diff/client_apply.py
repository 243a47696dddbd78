"""Client-side apply (ServerSideApply=false): kubectl's three-way merge, computed here.

The object carries what was last applied in the annotation
`kubectl.kubernetes.io/last-applied-configuration`. The next apply sends a
JSON merge patch (RFC 7386) that
- removes what the last apply declared and the manifest no longer does;
- sets what the manifest declares and the live object does not hold;
- leaves alone everything else, such as fields another client set that the
  manifest never declared.

Differences from kubectl, on purpose: kubectl sends a strategic merge patch
for built-in kinds (lists merged by key); a merge patch replaces a list
whole, so an item another client added to a declared list is dropped when
that list changes. A Secret's annotation keeps its keys but not its values
(kubectl stores them in clear text): deciding what to remove needs only the
keys, and an annotation is readable by anyone who may read the object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitward.engine.diff.applied import agrees
from gitward.engine.diff.normalize import LAST_APPLIED, is_secret

_SECRET_SECTIONS = ("data", "stringData")


def last_applied_text(desired: Mapping[str, Any]) -> str:
    """The annotation's value: compact JSON with sorted keys, so equal manifests give equal text."""
    recorded = _without_annotation(desired)
    if is_secret(recorded):
        for section in _SECRET_SECTIONS:
            values = recorded.get(section)
            if isinstance(values, Mapping):
                recorded[section] = dict.fromkeys(values, "")
    return json.dumps(recorded, sort_keys=True, separators=(",", ":"))


def with_last_applied(desired: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `desired` carrying its own last-applied annotation (for a create)."""
    out = _without_annotation(desired)
    metadata = out.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    metadata["annotations"] = {**(annotations or {}), LAST_APPLIED: last_applied_text(desired)}
    return out


def last_applied(live: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the live object says was last applied; None when it says nothing readable."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(LAST_APPLIED) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str):
        return None
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):  # an annotation nested past the parser's depth
        return None
    return found if isinstance(found, dict) else None


def patch_for(desired: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch a client-side apply of `desired` sends to `live`; empty if it changes nothing."""
    wanted = _without_annotation(desired)
    last = last_applied(live)
    patch = _three_way(last, wanted, live)
    if is_secret(wanted) and last is not None:
        _drop_string_data(last, wanted, live, patch)
    text = last_applied_text(desired)
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    if annotations.get(LAST_APPLIED) != text:
        metadata = patch.setdefault("metadata", {})
        if not isinstance(metadata.get("annotations"), dict):
            metadata["annotations"] = {}
        metadata["annotations"][LAST_APPLIED] = text
    return patch


def _three_way(last: Mapping[str, Any] | None, desired: Mapping[str, Any], live: Any) -> dict[str, Any]:
    """`last` None: nothing known of the previous apply, so nothing is removed."""
    have_all = live if isinstance(live, Mapping) else {}
    patch: dict[str, Any] = {}
    for name in last or ():
        if name not in desired and name in have_all:
            patch[name] = None
    for name, want in desired.items():
        have = have_all.get(name)
        before = last.get(name) if last is not None else None
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            known = before if isinstance(before, Mapping) else ({} if last is not None else None)
            below = _three_way(known, want, have)
            if below:
                patch[name] = below
        elif not agrees(have, want) or (isinstance(want, list) and last is not None and want != before):
            # A list equal to the live one may still hold, inside an item, a field the
            # last apply declared and the manifest dropped: it is sent whole when it changed.
            patch[name] = want
    return patch


def _drop_string_data(
    last: Mapping[str, Any], desired: Mapping[str, Any], live: Mapping[str, Any], patch: dict[str, Any]
) -> None:
    """The server folds `stringData` into `data` and keeps no `stringData`: a key dropped from it
    is removed from `data`, unless the manifest still declares it there (kubectl leaves it behind)."""
    declared = {*(desired.get("data") or {}), *(desired.get("stringData") or {})}
    stored = live.get("data") or {}
    gone = [k for k in last.get("stringData") or {} if k not in declared and k in stored]
    if gone:
        data = patch.setdefault("data", {})
        if isinstance(data, dict):
            data.update(dict.fromkeys(gone))


def _without_annotation(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    annotations = (out.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
    return out  # type: ignore[no-any-return]
