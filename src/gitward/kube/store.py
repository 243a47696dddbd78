"""The shared watch store: the live objects of every watched kind, indexed by tracking id.

Reflectors write here; the controller reads here instead of asking the
apiserver, and subscribes to hear about changes. A change that touches only
`.status` or bookkeeping metadata is stored but not announced: a controller
updating status every few seconds must not look like drift.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.model.resource import TRACKING_ANNOTATION, ResourceKey

# Written by the apiserver or controllers on every update; never a user's intent.
_BOOKKEEPING = ("resourceVersion", "managedFields", "generation")

log = structlog.get_logger(__name__)


class ChangeType(enum.StrEnum):
    added = "ADDED"
    modified = "MODIFIED"
    deleted = "DELETED"


@dataclass(frozen=True)
class Change:
    type: ChangeType
    key: ResourceKey
    tracking_id: str | None
    obj: Mapping[str, Any]
    # The copy it replaced: set for the status-only changes `subscribe_status` announces.
    old: Mapping[str, Any] | None = None


Subscriber = Callable[[Change], None]


def tracking_id(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    value = annotations.get(TRACKING_ANNOTATION) if isinstance(annotations, Mapping) else None
    return value if isinstance(value, str) else None


def resource_version(obj: Mapping[str, Any] | None) -> int | None:
    """An object's resourceVersion as a number, None when absent.

    Kubernetes calls it opaque; the apiserver fills it from etcd's revision,
    which only grows, and comparing two of them is how a reader tells whether
    its copy already holds a write it made.
    """
    metadata = obj.get("metadata") if isinstance(obj, Mapping) else None
    version = metadata.get("resourceVersion") if isinstance(metadata, Mapping) else None
    try:
        return int(version) if isinstance(version, str) else None
    except ValueError:
        return None


def app_of(tracking: str) -> str:
    """The app named by `<app>:<group>/<kind>:<ns>/<name>`."""
    return tracking.partition(":")[0]


def _meaningful(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` without the parts that change on their own: status and bookkeeping metadata."""
    out = {k: v for k, v in obj.items() if k != "status"}
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        out["metadata"] = {k: v for k, v in metadata.items() if k not in _BOOKKEEPING}
    return out


def is_status_only(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return _meaningful(old) == _meaningful(new)


class Store:
    """Objects by key, with indexes by tracking id and by app; not thread-safe (one event loop)."""

    def __init__(self) -> None:
        self._objects: dict[ResourceKey, Mapping[str, Any]] = {}
        self._by_tracking: dict[str, set[ResourceKey]] = {}
        # The same keys by app: every pass asks for its app's objects, and a scan of every
        # tracking id per pass made a thousand apps' cold start quadratic.
        self._by_app: dict[str, set[ResourceKey]] = {}
        self._subscribers: list[Subscriber] = []
        self._status_subscribers: list[Subscriber] = []
        self._waiters: dict[ResourceKey, list[tuple[int, asyncio.Future[None]]]] = {}

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, key: ResourceKey) -> Mapping[str, Any] | None:
        return self._objects.get(key)

    def keys(self, group: str, kind: str) -> list[ResourceKey]:
        return [k for k in self._objects if k.group == group and k.kind == kind]

    def by_tracking_id(self, tracking: str) -> list[Mapping[str, Any]]:
        return [self._objects[k] for k in sorted(self._by_tracking.get(tracking, ()))]

    def tracked_by(self, app: str) -> list[Mapping[str, Any]]:
        """Every live object whose tracking id names `app` (prune candidates, still to be checked)."""
        return [self._objects[k] for k in sorted(self._by_app.get(app, ()))]

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` on every meaningful change; returns a function that unsubscribes."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def subscribe_status(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call `subscriber` on the changes `subscribe` leaves out (status or bookkeeping only),
        with the previous copy: how a controller sees a rollout finish (health follows status)."""
        self._status_subscribers.append(subscriber)
        return lambda: self._status_subscribers.remove(subscriber)

    async def caught_up(self, key: ResourceKey, version: int, timeout: float) -> bool:
        """Wait until the copy of `key` is at `version` or later, or gone; False after `timeout`.

        A reader that has just written an object waits here for the watch (a
        moment behind) to bring its own write, rather than judge an older copy.
        """
        stored = resource_version(self._objects.get(key))
        if stored is not None and stored >= version:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (version, waiter)
        self._waiters.setdefault(key, []).append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            waiting = self._waiters.get(key, [])
            if entry in waiting:
                waiting.remove(entry)
            if not waiting:
                self._waiters.pop(key, None)

    def _wake(self, key: ResourceKey, version: int | None) -> None:
        """Release the waiters `version` satisfies; None (gone, or no number to compare) releases all."""
        for wanted, waiter in self._waiters.get(key, ()):
            if (version is None or version >= wanted) and not waiter.done():
                waiter.set_result(None)

    def upsert(self, obj: Mapping[str, Any]) -> None:
        key = ResourceKey.of(obj)
        old = self._objects.get(key)
        self._objects[key] = obj
        self._reindex(key, old, obj)
        if key in self._waiters:
            self._wake(key, resource_version(obj))
        if old is None:
            self._notify(Change(ChangeType.added, key, tracking_id(obj), obj))
        elif not is_status_only(old, obj):
            self._notify(Change(ChangeType.modified, key, tracking_id(obj), obj))
        elif self._status_subscribers:
            change = Change(ChangeType.modified, key, tracking_id(obj), obj, old)
            self._notify(change, self._status_subscribers)

    def remove(self, key: ResourceKey) -> None:
        old = self._objects.pop(key, None)
        if key in self._waiters:
            self._wake(key, None)
        if old is not None:
            self._reindex(key, old, None)
            self._notify(Change(ChangeType.deleted, key, tracking_id(old), old))

    def replace_kind(self, group: str, kind: str, objects: Iterable[Mapping[str, Any]]) -> None:
        """Make the store's `group/kind` exactly `objects` (after a list): upserts, then removals."""
        seen: set[ResourceKey] = set()
        for obj in objects:
            seen.add(ResourceKey.of(obj))
            self.upsert(obj)
        for key in self.keys(group, kind):
            if key not in seen:
                self.remove(key)

    def _reindex(
        self, key: ResourceKey, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> None:
        before = tracking_id(old) if old is not None else None
        after = tracking_id(new) if new is not None else None
        if before == after:
            return
        if before is not None:
            _unindex(self._by_tracking, before, key)
            _unindex(self._by_app, app_of(before), key)
        if after is not None:
            self._by_tracking.setdefault(after, set()).add(key)
            self._by_app.setdefault(app_of(after), set()).add(key)

    def _notify(self, change: Change, subscribers: list[Subscriber] | None = None) -> None:
        for subscriber in list(self._subscribers if subscribers is None else subscribers):
            try:
                subscriber(change)
            except Exception:  # one broken subscriber must not stop the others or the reflector
                log.exception("store subscriber failed", key=str(change.key))


def _unindex(index: dict[str, set[ResourceKey]], value: str, key: ResourceKey) -> None:
    keys = index.get(value)
    if keys is not None:
        keys.discard(key)
        if not keys:
            del index[value]
