"""What puts an app on the work queue: its live objects changing, its spec changing, and the clock.

Live objects reach us through the shared watch store, which already drops
changes that touch only `.status` or bookkeeping metadata; so a Deployment's
controller updating replica counts never looks like drift, while a hand
edit of its spec enqueues the app that tracks it at once. The poll is the
safety net for what no watch can see (a new commit without a webhook), with
jitter so a thousand apps created together do not poll together.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitward.controller.queue import WorkQueue
from gitward.engine.tracking import app_name
from gitward.kube.store import Change, ChangeType, app_of
from gitward.model.application import ARGOCD_GROUP, GROUP
from gitward.model.operation import REFRESH_ANNOTATIONS

APPLICATION_KINDS = frozenset({(GROUP, "Application"), (ARGOCD_GROUP, "Application")})


@dataclass(frozen=True)
class PollPolicy:
    interval: float = 180.0
    jitter: float = 0.1  # a fraction of the interval, either way

    def next_delay(self, rng: random.Random | None = None) -> float:
        spread = self.interval * self.jitter
        return self.interval + (rng or random).uniform(-spread, spread)


class Triggers:
    """Subscribe `on_change` to the watch store; call `poll_later` after each reconcile."""

    def __init__(
        self, queue: WorkQueue, poll: PollPolicy | None = None, namespace: str | None = None
    ) -> None:
        self.queue = queue
        self.poll = poll or PollPolicy()
        # Applications are served from one namespace; others belong to another controller.
        self.namespace = namespace
        # Counted for metrics and tests: how many enqueues each trigger caused.
        self.counts: dict[str, int] = {
            "drift": 0,
            "spec": 0,
            "operation": 0,
            "refresh": 0,
            "deleted": 0,
            "poll": 0,
        }

    def on_change(self, change: Change) -> None:
        if (change.key.group, change.key.kind) in APPLICATION_KINDS:
            self._on_application(change)
            return
        if change.tracking_id is None:
            return
        name = app_name(app_of(change.tracking_id), self.namespace)
        if name:
            self.counts["drift"] += 1
            self.queue.add(name)

    def poll_later(self, app: str) -> None:
        self.counts["poll"] += 1
        self.queue.add_after(app, self.poll.next_delay())

    def _on_application(self, change: Change) -> None:
        if self.namespace is not None and change.key.namespace != self.namespace:
            return
        name = change.key.name
        if change.type is ChangeType.deleted:
            # The finalizer keeps a deleting app around; once it is gone no poll or retry may bring it back.
            self.counts["deleted"] += 1
            self.queue.drop(name)
            return
        # Any change but one to status alone (the store drops those): the spec, the operation,
        # or an annotation such as a refresh request or the automation pause.
        self.counts[_reason(change.obj)] += 1
        self.queue.add(name)


def _reason(obj: Mapping[str, Any]) -> str:
    if obj.get("operation"):
        return "operation"
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return "refresh" if any(a in annotations for a in REFRESH_ANNOTATIONS) else "spec"
