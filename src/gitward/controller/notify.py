"""Outgoing notifications: a Slack-compatible POST when a sync succeeds or fails, health turns
Degraded, or drift is healed, for apps of an AppProject that asks for them.

An AppProject opts in with an annotation: `gitward.dev/notify-webhook-url`
(the URL itself), or `gitward.dev/notify-webhook-secret` naming a Secret in
the controller's namespace whose key `url` holds it (a Slack incoming-webhook
URL is a credential: anyone who may read AppProjects should not learn it).
`gitward.dev/notify-on` narrows the triggers (comma-separated:
sync-succeeded, sync-failed, health-degraded, drift-healed; default all).

Reconciles never wait for a notification: the status writer hands each one
to a bounded queue, and one sender posts them with a timeout. A full queue
or an unreachable receiver drops the message with a log line that names the
app and the trigger, never the URL. Messages hold gitward's own texts (the
same as its Events), never object contents.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from gitward.controller.status import OperationEvent
from gitward.kube import KubeError
from gitward.kube.connection import Connection
from gitward.model.application import AppResource
from gitward.model.health import HealthStatus
from gitward.outbound import JsonPoster

log = structlog.get_logger(__name__)

URL_ANNOTATION = "gitward.dev/notify-webhook-url"
SECRET_ANNOTATION = "gitward.dev/notify-webhook-secret"  # noqa: S105 - an annotation's name
TRIGGERS_ANNOTATION = "gitward.dev/notify-on"
TRIGGERS = ("sync-succeeded", "sync-failed", "health-degraded", "drift-healed")
# (namespace, project name) -> the AppProject object, or None.
ProjectLookup = Callable[[str, str], Mapping[str, Any] | None]
COLOURS = {
    "sync-succeeded": "good",
    "drift-healed": "good",
    "sync-failed": "danger",
    "health-degraded": "danger",
}


@dataclass(frozen=True)
class Note:
    namespace: str
    app: str
    project: str
    trigger: str
    text: str


def message(note: Note) -> dict[str, Any]:
    """The Slack-compatible body: `text` for any receiver, an attachment for Slack's colours."""
    return {
        "text": f"[{note.trigger}] {note.namespace}/{note.app}: {note.text}",
        "attachments": [
            {
                "color": COLOURS[note.trigger],
                "fields": [
                    {"title": "Application", "value": f"{note.namespace}/{note.app}", "short": True},
                    {"title": "Project", "value": note.project, "short": True},
                    {"title": "Event", "value": note.trigger, "short": True},
                ],
            }
        ],
    }


def _health(status: Mapping[str, Any]) -> str:
    return str((status.get("health") or {}).get("status") or "")


def _automated(app: Mapping[str, Any]) -> bool:
    state = (app.get("status") or {}).get("operationState") or {}
    operation = app.get("operation") or state.get("operation") or {}
    return bool((operation.get("initiatedBy") or {}).get("automated"))


def _redeployed(app: Mapping[str, Any], revision: str) -> bool:
    """The newest history entry (this sync's, already recorded) repeats the one before it."""
    history = [h for h in (app.get("status") or {}).get("history") or [] if isinstance(h, Mapping)]
    if len(history) < 2:
        return False
    return all(str(h.get("revision") or "").startswith(revision) for h in history[-2:])


def from_event(app: Mapping[str, Any], reason: str, message_text: str) -> tuple[str, str] | None:
    """(trigger, text) for an Event the controller emits, or None when it is not one we notify."""
    if reason == OperationEvent.sync_failed and not message_text.startswith("Retrying"):
        return "sync-failed", f"sync failed: {message_text}"
    if reason == OperationEvent.synced and message_text.startswith("synced to "):
        revision = message_text.removeprefix("synced to ")
        # An automated sync back to the revision already deployed: something had drifted from it.
        if revision and _automated(app) and _redeployed(app, revision):
            return "drift-healed", f"drift healed: re-synced to {revision}"
        return "sync-succeeded", message_text
    return None


def from_status(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, str] | None:
    if _health(new) == HealthStatus.degraded and _health(old) != HealthStatus.degraded:
        detail = str((new.get("health") or {}).get("message") or "")
        return "health-degraded", f"health {HealthStatus.degraded}" + (f": {detail[:300]}" if detail else "")
    return None


class Notifier:
    """Fed by the StatusWriter (as an observer); sends in the background, bounded and with a timeout."""

    def __init__(
        self,
        connection: Connection,
        namespace: str | None,
        resource: AppResource | None = None,
        *,
        timeout: float = 5.0,
        capacity: int = 200,
        projects: ProjectLookup | None = None,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self.resource = resource or AppResource()
        self.timeout = timeout
        # The controller's watch cache of AppProjects: without it each note costs a GET.
        self.projects = projects
        self._queue: asyncio.Queue[Note] = asyncio.Queue(capacity)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0

    # The StatusWriter's observer interface: both return at once.
    def event(self, app: Mapping[str, Any], reason: str, text: str, warning: bool) -> None:
        found = from_event(app, reason, text)
        if found is not None:
            self._put(app, *found)

    def status(self, app: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        found = from_status(old, new)
        if found is not None:
            self._put(app, *found)

    def _put(self, app: Mapping[str, Any], trigger: str, text: str) -> None:
        metadata = app.get("metadata") or {}
        project = str((app.get("spec") or {}).get("project") or "default")
        if self.projects is not None and not _wants_notes(
            self.projects(str(metadata.get("namespace") or ""), project)
        ):
            return  # most projects ask for none: a thousand apps syncing must not fill the queue
        note = Note(
            str(metadata.get("namespace") or ""), str(metadata.get("name") or ""), project, trigger, text
        )
        try:
            self._queue.put_nowait(note)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("notification dropped: queue full", app=note.app, trigger=trigger)
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send_all(), name="notifications")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _send_all(self) -> None:
        async with JsonPoster(self.timeout) as http:
            while True:
                note = await self._queue.get()
                try:
                    await self._send(http, note)
                except Exception as problem:  # a broken receiver must not stop later notifications
                    self.dropped += 1
                    # The exception text may quote the URL (and its token): only its type is logged.
                    log.warning(
                        "notification not delivered",
                        app=note.app,
                        trigger=note.trigger,
                        error=type(problem).__name__,
                    )

    async def _send(self, http: JsonPoster, note: Note) -> None:
        project = await self._project(note)
        if project is None:
            return
        annotations = (project.get("metadata") or {}).get("annotations") or {}
        wanted = str(annotations.get(TRIGGERS_ANNOTATION) or ",".join(TRIGGERS))
        if note.trigger not in {t.strip() for t in wanted.split(",")}:
            return
        url = await self._url(note, annotations)
        if not url:
            return
        status = await http.post(url, message(note))
        if status >= 400:
            self.dropped += 1
            log.warning("notification refused", app=note.app, trigger=note.trigger, status=status)
            return
        self.sent += 1

    async def _project(self, note: Note) -> Mapping[str, Any] | None:
        if self.projects is not None:
            return self.projects(note.namespace, note.project)
        group = f"/apis/{self.resource.group}/{self.resource.version}"
        path = f"{group}/namespaces/{note.namespace}/appprojects/{note.project}"
        try:
            found: Mapping[str, Any] = await self.connection.request("GET", path)
        except KubeError as problem:
            if not problem.not_found:
                log.warning("notification: project unreadable", project=note.project, error=str(problem))
            return None
        return found

    async def _url(self, note: Note, annotations: Mapping[str, Any]) -> str | None:
        if annotations.get(URL_ANNOTATION):
            return str(annotations[URL_ANNOTATION]).strip()
        name = annotations.get(SECRET_ANNOTATION)
        if not name:
            return None
        namespace = self.namespace or note.namespace
        try:
            secret = await self.connection.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{name}")
        except KubeError as problem:
            log.warning(
                "notification: secret unreadable", project=note.project, secret=name, code=problem.code
            )
            return None
        value = (secret.get("data") or {}).get("url")
        return base64.b64decode(value).decode().strip() if value else None


def _wants_notes(project: Mapping[str, Any] | None) -> bool:
    annotations = ((project or {}).get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(URL_ANNOTATION) or annotations.get(SECRET_ANNOTATION))
