"""`gitward controller`: leader election, the watch cache, the work queue and its workers, together."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import structlog

from gitward.controller.leader import LeaderElector, LeaseConfig
from gitward.controller.queue import WorkQueue, run_workers
from gitward.controller.reconcile import Reconciler
from gitward.controller.status import AppResource
from gitward.controller.triggers import PollPolicy, Triggers
from gitward.kube import Discovery, WatchCache
from gitward.kube.connection import Connection
from gitward.render import Renderer, Tools
from gitward.source import RepoCache

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ControllerSettings:
    namespace: str
    workers: int = 4
    poll: PollPolicy = field(default_factory=PollPolicy)
    resource: AppResource = field(default_factory=AppResource)
    leader_election: bool = True
    tools: Tools = field(default_factory=Tools.from_environment)
    git_cache: Path | None = None  # default: <cache root>/git


class Controller:
    def __init__(self, connection: Connection, settings: ControllerSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.cache = WatchCache(connection, Discovery(connection))
        self.queue = WorkQueue()
        self.triggers = Triggers(self.queue, settings.poll, namespace=settings.namespace)
        self.reconciler = Reconciler(
            connection,
            self.cache,
            RepoCache(settings.git_cache),
            Renderer(settings.tools),
            namespace=settings.namespace,
            resource=settings.resource,
        )

    async def run(self) -> None:
        """Serve until cancelled (or, with leader election, until the lease is lost)."""
        try:
            if self.settings.leader_election:
                elector = LeaderElector(self.connection, LeaseConfig(namespace=self.settings.namespace))
                await elector.run(self._lead)
            else:
                await self._lead()
        finally:
            self.queue.shutdown()
            await self.cache.aclose()

    async def _lead(self) -> None:
        resource = self.settings.resource
        # Subscribe first: the first list then announces every existing app, which enqueues it.
        self.cache.store.subscribe(self.triggers.on_change)
        await self.cache.ensure(f"{resource.group}/{resource.version}", "Application")
        log.info("controller running", namespace=self.settings.namespace, workers=self.settings.workers)
        await run_workers(self.queue, self._handle, self.settings.workers)

    async def _handle(self, name: str) -> None:
        try:
            await self.reconciler.reconcile(name)
        finally:
            # Even a failing app is looked at again on the poll; a failure also retries with backoff.
            self.triggers.poll_later(name)
