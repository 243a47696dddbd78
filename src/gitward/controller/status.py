"""Writing an Application's status, and Events about it, only when something changed.

With a thousand apps and nothing happening, the controller must make no
writes at all: a status equal to the stored one (ignoring `reconciledAt`,
which would otherwise change on every pass) is not written. The write is a
JSON merge patch of the status subresource that sets every field we own and
nulls the ones that went away, at every depth, so a cleared condition or a
health message that no longer applies really disappears.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.store import resource_version
from gitward.model.application import AppResource
from gitward.model.redact import redact_text

# Changes on every reconcile by definition; written only along with a real change.
_VOLATILE = ("reconciledAt",)


class OperationEvent(enum.StrEnum):
    """The reasons of the Events an operation's end posts; notifications are chosen by them."""

    synced = "Synced"
    sync_failed = "SyncFailed"


def redacted(value: Any) -> Any:
    """`value` with every URL in a `message` string redacted, at any depth.

    Messages are built by many layers (project policy, Git, helm pull) and
    may quote a repoURL as its author wrote it, password included; this is
    the one funnel every status goes through before it is compared and written.
    """
    if isinstance(value, Mapping):
        return {
            k: redact_text(v) if k == "message" and isinstance(v, str) else redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redacted(v) for v in value]
    return value


def meaningful(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k not in _VOLATILE and v not in (None, [], {})}


def status_patch(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any] | None:
    """The merge patch that turns `current` into `new`, or None when nothing meaningful changed."""
    if meaningful(current) == meaningful(new):
        return None
    return {"status": _merge_diff(current, new)}


def _merge_diff(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386: objects merge key by key, so a key that went away must be sent as null at every depth."""
    patch: dict[str, Any] = {k: None for k in current if k not in new}
    for key, value in new.items():
        old = current.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            patch[key] = _merge_diff(old, value)
        else:
            patch[key] = value
    return patch


class StatusObserver(Protocol):
    """Hears what the writer writes (notifications); must return at once and never raise."""

    def event(self, app: Mapping[str, Any], reason: str, message: str, warning: bool) -> None: ...

    def status(self, app: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> None: ...


class WrittenVersions:
    """The resourceVersion each app got from our last write of it.

    A pass that reads the app from the watch cache uses this to tell a copy
    older than its own write (the watch is a moment behind) from a current one.
    """

    def __init__(self) -> None:
        self._versions: dict[tuple[str, str], int] = {}

    def wrote(self, answer: Any) -> None:
        """Remember the version a write of an app (its answer) made."""
        metadata = answer.get("metadata") if isinstance(answer, Mapping) else None
        if isinstance(metadata, Mapping):
            version = resource_version(answer)
            if version is not None:
                self._versions[(str(metadata.get("namespace")), str(metadata.get("name")))] = version

    def current(self, cached: Mapping[str, Any] | None) -> bool:
        """Whether a cached copy of an app is at least as new as our last write of it."""
        if cached is None:
            return False
        metadata = cached.get("metadata") or {}
        written = self._versions.get((str(metadata.get("namespace")), str(metadata.get("name"))))
        if written is None:
            return True
        version = resource_version(cached)
        return version is not None and version >= written


class StatusWriter:
    def __init__(
        self,
        connection: Connection,
        resource: AppResource | None = None,
        observers: Sequence[StatusObserver] = (),
    ) -> None:
        self.connection = connection
        self.resource = resource or AppResource()
        self.writes = 0
        self.observers = tuple(observers)
        self.versions = WrittenVersions()

    def wrote(self, answer: Any) -> None:
        self.versions.wrote(answer)

    def current(self, cached: Mapping[str, Any] | None) -> bool:
        return self.versions.current(cached)

    async def write(self, app: Mapping[str, Any], new_status: Mapping[str, Any]) -> bool:
        """Patch the app's status if it changed; True when a request was made."""
        new_status = redacted(new_status)
        patch = status_patch(app.get("status") or {}, new_status)
        if patch is None:
            return False
        metadata = app["metadata"]
        answer = await Writer(self.connection).merge_patch_at(
            self.resource.path(metadata["namespace"], metadata["name"], "status"), patch
        )
        self.wrote(answer)
        self.writes += 1
        for observer in self.observers:
            observer.status(app, app.get("status") or {}, new_status)
        return True

    async def event(self, app: Mapping[str, Any], reason: str, message: str, warning: bool = False) -> None:
        """A core/v1 Event on the app, as `kubectl describe` and `kubectl get events` show them.

        `message` is gitward's own text: callers never pass object contents, so
        no Secret value can reach an Event.
        """
        metadata = app["metadata"]
        namespace = metadata["namespace"]
        now = dt.datetime.now(dt.UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{metadata['name']}.{secrets.token_hex(8)}", "namespace": namespace},
            "involvedObject": {
                "apiVersion": app.get("apiVersion", f"{self.resource.group}/{self.resource.version}"),
                "kind": app.get("kind", "Application"),
                "name": metadata["name"],
                "namespace": namespace,
                "uid": metadata.get("uid", ""),
            },
            "reason": reason,
            "message": redact_text(message)[:1024],
            "type": "Warning" if warning else "Normal",
            "source": {"component": "gitward-controller"},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        for observer in self.observers:
            observer.event(app, reason, message, warning)
        await Writer(self.connection).create_at(f"/api/v1/namespaces/{namespace}/events", event)
