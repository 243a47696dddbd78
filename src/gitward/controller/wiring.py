"""A Reconciler and its collaborators, built in one place from a connection and a watch cache.

The controller builds one; everything a Reconciler uses is passed in here,
at construction, so nothing is swapped or added to it afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gitward.controller.health_rules import HealthRuleSource
from gitward.controller.operation import Operations
from gitward.controller.projects import Projects
from gitward.controller.queue import WorkQueue
from gitward.controller.reconcile import Reconciler
from gitward.controller.status import StatusObserver, StatusWriter
from gitward.engine.desired import DesiredState
from gitward.engine.diff.compare import Comparer, WatchedLive
from gitward.kube import WatchCache, Writer
from gitward.kube.connection import Connection
from gitward.model.application import AppResource

__all__ = ["Wiring", "build_reconciler"]


@dataclass(frozen=True)
class Wiring:
    """Which Applications a reconciler serves, and who hears of what happens to them."""

    namespace: str
    resource: AppResource = field(default_factory=AppResource)
    # Project changes, sync-window boundaries and changes of gitward-cm's health rules enqueue apps
    # through it; None enqueues nothing.
    queue: WorkQueue | None = None
    # Told of each status write and Event (notifications).
    observers: tuple[StatusObserver, ...] = ()


def build_reconciler(
    connection: Connection, cache: WatchCache, desired: DesiredState, wiring: Wiring
) -> Reconciler:
    writer = Writer(connection, cache.discovery)
    # A missing object is OutOfSync without a dry run: the sync dry-runs it before creating it.
    comparer = Comparer(writer, WatchedLive(cache, writer.written), dry_run_creates=False, diffs=False)
    resource, namespace = wiring.resource, wiring.namespace
    status = StatusWriter(connection, resource, observers=wiring.observers)
    return Reconciler(
        connection=connection,
        cache=cache,
        writer=writer,
        comparer=comparer,
        desired=desired,
        namespace=namespace,
        resource=resource,
        status=status,
        projects=Projects(cache, resource, namespace, queue=wiring.queue),
        health_rules=HealthRuleSource(cache, namespace, resource.group, queue=wiring.queue),
        operations=Operations(writer, comparer, cache.store, status, resource),
    )
