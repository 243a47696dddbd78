"""Tracking ids: `<app>:<group>/<kind>:<namespace>/<name>` in `gitward.dev/tracking-id`.

The id names the object it is written on. A copy of an object (made with
`kubectl get -o yaml | kubectl create`, say) carries a copied id that names
the original; `owner` sees the mismatch and treats the copy as nobody's, so
it is never pruned. The app part is `<app namespace>_<app name>` (tracking_app).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitward.engine.annotations import TRACKING_ID, annotations_of, describe
from gitward.engine.trees import object_copy
from gitward.model.resource import ResourceKey
from gitward.model.sync import SharedResourceError, SyncSpecError, TrackingId


def tracking_app(namespace: str, name: str) -> str:
    """The app part of the tracking ids a controller writes: its namespace too, so two apps of
    one name in two namespaces never take (or prune) each other's objects."""
    return f"{namespace}_{name}"


def app_name(tracked: str, namespace: str | None) -> str | None:
    """The app's name from a tracking id's app part (tracking_app undone); None when an app of
    another namespace owns it. With no namespace (a controller watching them all) the part as is."""
    if namespace is None:
        return tracked or None
    prefix = f"{namespace}_"
    return tracked.removeprefix(prefix) if tracked.startswith(prefix) else None


def format_id(app: str, key: ResourceKey) -> str:
    """The id text; refuses parts that would make it ambiguous to parse back."""
    _check(app, key, where=f"tracking id for {key}")
    return f"{app}:{key.group}/{key.kind}:{key.namespace}/{key.name}"


def parse_id(text: str) -> TrackingId:
    """The app and object an id names; a malformed id is a SyncSpecError quoting it."""
    app, colon, rest = text.partition(":")
    group_kind, colon2, namespace_name = rest.partition(":")
    group, slash, kind = group_kind.partition("/")
    namespace, slash2, name = namespace_name.partition("/")
    if not (colon and colon2 and slash and slash2):
        raise SyncSpecError(
            f"malformed tracking id {text!r}: expected <app>:<group>/<kind>:<namespace>/<name>"
        )
    key = ResourceKey(group, kind, namespace, name)
    _check(app, key, where=f"malformed tracking id {text!r}")
    return TrackingId(app, key)


def stamp(obj: Mapping[str, Any], app: str) -> dict[str, Any]:
    """A copy of `obj` carrying the tracking id of `app`; the input is left as it was."""
    key = ResourceKey.of(obj)
    if not key.name:
        raise SyncSpecError(f"{describe(obj)}: cannot be tracked without metadata.name")
    out = object_copy(obj)
    metadata = out.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
        out["metadata"] = metadata
    annotations = metadata.get("annotations")
    annotations = dict(annotations) if isinstance(annotations, Mapping) else {}
    annotations[TRACKING_ID] = format_id(app, key)
    metadata["annotations"] = annotations
    return out


def owner(obj: Mapping[str, Any]) -> str | None:
    """The app tracking this very object, or None (no id, a malformed one, or one naming another object)."""
    value = annotations_of(obj).get(TRACKING_ID)
    if not isinstance(value, str):
        return None
    try:
        tracked = parse_id(value)
    except SyncSpecError:
        return None
    return tracked.app if tracked.key == ResourceKey.of(obj) else None


def _check(app: str, key: ResourceKey, *, where: str) -> None:
    problems = []
    if not app or ":" in app or "/" in app:
        problems.append("the app name must be non-empty, without ':' or '/'")
    if any(c in key.group for c in ":/"):
        problems.append("the group may not contain ':' or '/'")
    if not key.kind or any(c in key.kind for c in ":/"):
        problems.append("the kind must be non-empty, without ':' or '/'")
    if ":" in key.namespace or "/" in key.namespace:
        problems.append("the namespace may not contain ':' or '/'")
    # Names may hold ':' (system:controller:... ClusterRoles) but never '/'.
    if not key.name or "/" in key.name:
        problems.append("the name must be non-empty, without '/'")
    if problems:
        raise SyncSpecError(f"{where}: {'; '.join(problems)}")


def claimed_elsewhere(
    app: str, desired: Iterable[ResourceKey], live: Iterable[Mapping[str, Any]]
) -> dict[ResourceKey, str]:
    """Desired objects whose live object another app tracks, with that app (SharedResourceWarning).

    Applying them would take them over; with FailOnSharedResource the sync refuses instead.
    """
    wanted = set(desired)
    found: dict[ResourceKey, str] = {}
    for obj in live:
        key = ResourceKey.of(obj)
        other = owner(obj)
        if key in wanted and other is not None and other != app:
            found[key] = other
    return dict(sorted(found.items()))


def refuse_shared(shared: Mapping[ResourceKey, str], *, fail_on_shared_resource: bool) -> None:
    """Raise SharedResourceError naming every shared object when FailOnSharedResource is set."""
    if shared and fail_on_shared_resource:
        names = ", ".join(f"{key} (tracked by {other})" for key, other in sorted(shared.items()))
        raise SharedResourceError(f"FailOnSharedResource: {names}")
