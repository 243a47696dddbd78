"""Watching a fault from outside: every write to the app's objects, and every status the app showed.

`Audit` keeps a watch open on the target namespace through the fault,
resuming from the last resourceVersion it saw whenever the connection
drops, so it holds one event per write the apiserver accepted: what
"nothing is applied twice" is checked against. `StatusLog` samples the
Application's status, so "the status tells the truth throughout" is checked
on what a user would have read, also in the middle of the fault.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers import Cluster

# Each kind the scenarios deploy, and its API path inside a namespace.
KINDS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
}


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED
    kind: str
    name: str
    uid: str
    generation: int
    data: dict[str, str]


@dataclass
class Audit:
    """A watch of KINDS in one namespace that survives the apiserver's absence."""

    cluster: Cluster
    namespace: str
    events: list[Event] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    # (kind, name) -> (uid, resourceVersion) as last seen; ("", "deleted") once deleted.
    _versions: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    def __enter__(self) -> Audit:
        for kind, path in KINDS.items():
            version = self._list(kind, path, resumed=False)
            thread = threading.Thread(target=self._watch, args=(kind, path, version), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def of(self, kind: str, name: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind and e.name == name]

    def _watch(self, kind: str, path: str, version: str) -> None:
        # The last resourceVersion seen, kept across dropped connections: each write is recorded once.
        seen = [version]
        while not self._stop.is_set():
            try:
                self._stream(kind, path, seen)
            except (httpx.HTTPError, OSError, ValueError):
                self._stop.wait(0.2)  # the apiserver is away; resume from seen[0] when it is back

    def _stream(self, kind: str, path: str, seen: list[str]) -> None:
        params = {"watch": "true", "resourceVersion": seen[0], "timeoutSeconds": "30"}
        # The read timeout makes the thread look at _stop now and then; it resumes where it was.
        with (
            self.cluster.http() as client,
            client.stream(
                "GET",
                path.format(ns=self.namespace),
                params=params,
                timeout=httpx.Timeout(5.0, read=1.0),
            ) as reply,
        ):
            if reply.status_code != 200:
                raise httpx.HTTPError(f"watch answered {reply.status_code}")
            for line in reply.iter_lines():
                if self._stop.is_set():
                    return
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    # 410 Gone (a restarted apiserver's watch cache starts afresh): resume from a list.
                    seen[0] = self._list(kind, path, resumed=True)
                    return
                meta = obj.get("metadata") or {}
                gone = event.get("type") == "DELETED"
                self._versions[(kind, str(meta.get("name")))] = (
                    ("", "deleted") if gone else self._version(obj)
                )
                self.events.append(
                    Event(
                        str(event["type"]),
                        kind,
                        str(meta.get("name")),
                        str(meta.get("uid")),
                        int(meta.get("generation") or 0),
                        dict(obj.get("data") or {}),
                    )
                )
                seen[0] = str(meta.get("resourceVersion") or seen[0])

    def _list(self, kind: str, path: str, *, resumed: bool) -> str:
        """List `kind`; an object written since the watch last saw it is a gap: its writes cannot be
        counted one by one (none is expected: the apiserver that could take them was away)."""
        with self.cluster.http() as client:
            listed = client.get(path.format(ns=self.namespace)).json()
        now = {(kind, str(o["metadata"]["name"])): self._version(o) for o in listed.get("items") or []}
        if resumed:
            known = {k: v for k, v in self._versions.items() if k[0] == kind and v[1] != "deleted"}
            for key in sorted(set(now) | set(known)):
                if now.get(key) != known.get(key):
                    self.gaps.append(f"{key[0]} {key[1]} was written while the watch was cut off")
        self._versions.update(now)
        return str(listed["metadata"]["resourceVersion"])

    @staticmethod
    def _version(obj: dict[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return str(meta.get("uid")), str(meta.get("resourceVersion"))


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when the answer came
    status: dict[str, Any] | None  # None: the apiserver could not be read


@dataclass
class StatusLog:
    """The Application's status, read every ~0.2 s from a thread while the test runs."""

    cluster: Cluster
    namespace: str
    name: str
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> StatusLog:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        path = f"/apis/gitward.dev/v1alpha1/namespaces/{self.namespace}/applications/{self.name}"
        while not self._stop.is_set():
            try:
                with self.cluster.http() as client:
                    reply = client.get(path, timeout=2.0)
                status = reply.json().get("status") or {} if reply.status_code == 200 else None
            except (httpx.HTTPError, OSError, ValueError):
                status = None
            # Stamped when the answer came: a sample stamped before a moment was read before it.
            self.samples.append(Sample(time.monotonic(), status))
            self._stop.wait(0.2)

    def read(self) -> list[dict[str, Any]]:
        """The statuses the apiserver answered with, in order."""
        return [s.status for s in self.samples if s.status is not None]

    def before(self, moment: float) -> list[dict[str, Any]]:
        return [s.status for s in self.samples if s.status is not None and s.at < moment]

    def unreadable(self) -> int:
        return sum(1 for s in self.samples if s.status is None)
