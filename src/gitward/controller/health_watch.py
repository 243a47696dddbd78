"""A tracked object whose health changed brings its app back, though only its status moved.

The watch store announces spec changes (drift) to the triggers and keeps
status-only changes quiet; but a rollout finishing, or a Pod starting to
crash, shows only in status, and the app's health must follow it without
waiting for the next poll. Only a change of the health *status* enqueues:
a Deployment's controller rewriting its status every few seconds does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitward.controller.queue import WorkQueue
from gitward.engine.health.assess import assess
from gitward.engine.tracking import app_name
from gitward.kube.store import Change, app_of


class HealthWatch:
    """Subscribe `on_status` with `Store.subscribe_status`."""

    def __init__(self, queue: WorkQueue, namespace: str | None = None) -> None:
        self.queue = queue
        self.namespace = namespace
        self.enqueued = 0

    def on_status(self, change: Change) -> None:
        if change.tracking_id is None or change.old is None:
            return
        if _health(change.old) == _health(change.obj):
            return
        name = app_name(app_of(change.tracking_id), self.namespace)
        if name:
            self.enqueued += 1
            self.queue.add(name)


def _health(obj: Mapping[str, Any]) -> str | None:
    # Built-in rules only: a kind that only a custom (CEL) rule judges is seen on the next poll.
    found = assess(obj)
    return str(found.status) if found is not None else None
