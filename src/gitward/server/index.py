"""The server's copy of every Application: kept by a watch, summarised once per change, paged.

Listing thousands of apps must not cost a LIST per request (Argo CD's UI
takes seconds at 6,000 apps): a reflector keeps the objects here, each
change recomputes that one app's summary, and a request only filters the
summaries, already in (namespace, name) order, and cuts a page. The
continue token names the last app of the page, so a page boundary does not
move when apps are created or deleted meanwhile.

Unlike the controller's store, this one announces status-only changes too:
a sync or health change is exactly what a live view wants to hear.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog

from gitward.kube import ChangeType, Store
from gitward.model.resource import ResourceKey

log = structlog.get_logger(__name__)

AppKey = tuple[str, str]  # (namespace, name)
Listener = Callable[[str, Mapping[str, Any]], None]

MAX_PAGE = 1000


def summary(app: Mapping[str, Any]) -> dict[str, Any]:
    """What a list view shows of one app, in the Application's own shape (a subset of its fields)."""
    metadata = app.get("metadata") or {}
    spec = app.get("spec") or {}
    status = app.get("status") or {}
    sources = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    operation = status.get("operationState") or {}
    out_spec: dict[str, Any] = {
        "project": spec.get("project") or "default",
        "destination": spec.get("destination") or {},
        "sources": [
            {k: s[k] for k in ("repoURL", "path", "targetRevision", "chart") if k in s}
            for s in sources
            if isinstance(s, Mapping)
        ],
        "automated": bool((spec.get("syncPolicy") or {}).get("automated")),
    }
    out_status: dict[str, Any] = {
        "sync": {k: v for k, v in (status.get("sync") or {}).items() if k in ("status", "revision")},
        "health": status.get("health") or {},
        "conditions": [
            {"type": c.get("type"), "message": str(c.get("message", ""))[:300]}
            for c in status.get("conditions") or []
            if isinstance(c, Mapping)
        ],
        "reconciledAt": status.get("reconciledAt"),
    }
    if operation:
        out_status["operationState"] = {
            k: operation[k] for k in ("phase", "message", "startedAt", "finishedAt") if k in operation
        }
    return {
        "metadata": {
            k: metadata[k]
            for k in ("name", "namespace", "uid", "creationTimestamp", "labels", "annotations")
            if k in metadata
        },
        "spec": out_spec,
        "status": out_status,
        "operation": bool(app.get("operation")),
    }


@dataclass(frozen=True)
class Filters:
    """A list request's filters; each empty one matches everything."""

    projects: frozenset[str] = frozenset()
    namespace: str = ""  # the destination namespace
    cluster: str = ""  # destination server URL or name
    sync: str = ""
    health: str = ""
    search: str = ""  # a substring of the app's name (case-insensitive)
    visible: Callable[[str], bool] = lambda project: True

    def match(self, facts: Facts, visible: bool) -> bool:
        if not visible or (self.projects and facts.project not in self.projects):
            return False
        if self.namespace and facts.namespace != self.namespace:
            return False
        if self.cluster and self.cluster not in (facts.server, facts.cluster):
            return False
        if self.sync and facts.sync != self.sync:
            return False
        if self.health and facts.health != self.health:
            return False
        return not self.search or self.search.lower() in facts.name


class Facts(NamedTuple):
    """What filters look at, taken out of a summary once per change rather than once per request."""

    project: str
    namespace: str
    server: str
    cluster: str
    sync: str
    health: str
    name: str  # lower-case, for the case-insensitive search

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> Facts:
        destination, status = item["spec"]["destination"], item["status"]
        return cls(
            item["spec"]["project"],
            str(destination.get("namespace") or ""),
            str(destination.get("server") or ""),
            str(destination.get("name") or ""),
            str(status["sync"].get("status") or "Unknown"),
            str(status["health"].get("status") or "Unknown"),
            str(item["metadata"].get("name") or "").lower(),
        )


def encode_token(key: AppKey) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}/{key[1]}".encode()).decode().rstrip("=")


def decode_token(token: str) -> AppKey:
    """The (namespace, name) a continue token names; ValueError for a token we did not make."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as problem:
        raise ValueError("invalid continue token") from problem
    namespace, slash, name = text.partition("/")
    if not slash or not name:
        raise ValueError("invalid continue token")
    return namespace, name


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    next: str | None


class AppIndex:
    """Applications of one group (optionally one namespace), with their summaries in order."""

    def __init__(self, group: str, namespace: str = "") -> None:
        self.group = group
        self.namespace = namespace
        self._objects: dict[AppKey, Mapping[str, Any]] = {}
        self._summaries: dict[AppKey, dict[str, Any]] = {}
        self._facts: dict[AppKey, Facts] = {}
        self._order: list[AppKey] = []
        self._listeners: list[Listener] = []

    def __len__(self) -> int:
        return len(self._order)

    def get(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._objects.get((namespace, name))

    def objects(self) -> list[Mapping[str, Any]]:
        return [self._objects[k] for k in self._order]

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Hear `(type, summary)` on every change of an app, status included; returns the unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def page(self, filters: Filters, limit: int, after: AppKey | None = None) -> Page:
        limit = max(1, min(limit, MAX_PAGE))
        start = bisect.bisect_right(self._order, after) if after is not None else 0
        items: list[dict[str, Any]] = []
        total = 0
        last: AppKey | None = None
        more = False
        # The total counts every match (what a UI shows as "n apps"); the page only those after the token.
        visible: dict[str, bool] = {}  # per project: a token's check is asked once per request
        for position, key in enumerate(self._order):
            facts = self._facts[key]
            allowed = visible.get(facts.project)
            if allowed is None:
                allowed = visible[facts.project] = filters.visible(facts.project)
            if not filters.match(facts, allowed):
                continue
            total += 1
            if position >= start:
                if len(items) < limit:
                    items.append(self._summaries[key])
                    last = key
                else:
                    more = True
        return Page(items, total, encode_token(last) if more and last is not None else None)

    # Fed by IndexStore, which the reflector writes to.
    def upsert(self, obj: Mapping[str, Any]) -> None:
        key = self._key(obj)
        if key is None:
            return
        old = self._objects.get(key)
        if old is not None and _version(old) == _version(obj):
            return  # a relist repeating what we hold
        self._objects[key] = obj
        self._summaries[key] = summary(obj)
        self._facts[key] = Facts.of(self._summaries[key])
        if old is None:
            bisect.insort(self._order, key)
        self._announce(str(ChangeType.added if old is None else ChangeType.modified), self._summaries[key])

    def remove(self, obj: Mapping[str, Any]) -> None:
        key = self._key(obj)
        if key is None or key not in self._objects:
            return
        del self._objects[key]
        gone = self._summaries.pop(key)
        del self._facts[key]
        self._order.pop(bisect.bisect_left(self._order, key))
        self._announce(str(ChangeType.deleted), gone)

    def _key(self, obj: Mapping[str, Any]) -> AppKey | None:
        key = ResourceKey.of(obj)
        if key.group != self.group or key.kind != "Application":
            return None
        if self.namespace and key.namespace != self.namespace:
            return None
        return key.namespace, key.name

    def _announce(self, change: str, item: Mapping[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(change, item)
            except Exception:  # a broken stream must not stop the index
                log.exception("app listener failed")


def _version(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class IndexStore(Store):
    """A Store for a Reflector that also keeps an AppIndex current, status-only changes included."""

    def __init__(self, index: AppIndex) -> None:
        super().__init__()
        self.index = index

    def upsert(self, obj: Mapping[str, Any]) -> None:
        super().upsert(obj)
        self.index.upsert(obj)

    def remove(self, key: ResourceKey) -> None:
        old = self.get(key)
        super().remove(key)
        if old is not None:
            self.index.remove(old)
