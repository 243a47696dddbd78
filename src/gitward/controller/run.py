"""`gitward controller`: leader election, the watch cache, the work queue and its workers, together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import REGISTRY, CollectorRegistry

from gitward.controller.health_watch import HealthWatch
from gitward.controller.leader import LeaderElector, LeaseConfig
from gitward.controller.metrics import AppInfoCollector, ProbeServer
from gitward.controller.notify import Notifier
from gitward.controller.queue import DEFAULT_WORKERS, WorkQueue, run_workers
from gitward.controller.triggers import PollPolicy, Triggers
from gitward.controller.wiring import Wiring, build_reconciler
from gitward.engine.desired import DesiredState
from gitward.engine.repo_credentials import WatchedCredentials
from gitward.kube import Discovery, WatchCache
from gitward.kube.connection import Connection
from gitward.model.application import AppResource
from gitward.model.resource import ResourceKey
from gitward.render import Renderer, Tools
from gitward.source import RepoCache

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ControllerSettings:
    namespace: str
    workers: int = DEFAULT_WORKERS
    poll: PollPolicy = field(default_factory=PollPolicy)
    resource: AppResource = field(default_factory=AppResource)
    leader_election: bool = True
    tools: Tools = field(default_factory=Tools.from_environment)
    git_cache: Path | None = None  # default: <cache root>/git
    health_port: int = 0  # /healthz, /readyz and /metrics; 0 serves none


class Controller:
    def __init__(self, connection: Connection, settings: ControllerSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.cache = WatchCache(connection, Discovery(connection))
        self.queue = WorkQueue()
        self.triggers = Triggers(self.queue, settings.poll, namespace=settings.namespace)
        self.credentials = WatchedCredentials(connection, self.cache.discovery, settings.namespace)
        desired = DesiredState(
            RepoCache(settings.git_cache), Renderer(settings.tools), self.credentials, self.cache.discovery
        )
        self.notifier = Notifier(connection, settings.namespace, settings.resource, projects=self._project)
        # Project changes, sync windows and gitward-cm's health rules enqueue apps; notes follow statuses.
        wiring = Wiring(settings.namespace, settings.resource, queue=self.queue, observers=(self.notifier,))
        self.reconciler = build_reconciler(connection, self.cache, desired, wiring)
        self.elector: LeaderElector | None = None
        self.apps_synced = False

    def ready(self) -> bool:
        """Leading with the Applications listed, or a standby campaigning for the Lease."""
        if self.apps_synced:
            return True
        return self.elector is not None and not self.elector.is_leader

    def _applications(self) -> list[Mapping[str, Any]]:
        store, group = self.cache.store, self.settings.resource.group
        found = (store.get(k) for k in store.keys(group, "Application"))
        return [a for a in found if a is not None]

    async def run(self) -> None:
        """Serve until cancelled (or, with leader election, until the lease is lost)."""
        probes: ProbeServer | None = None
        if self.settings.health_port:
            apps = CollectorRegistry(auto_describe=True)
            apps.register(AppInfoCollector(self._applications))
            probes = ProbeServer(self.settings.health_port, self.ready, (REGISTRY, apps))
            await probes.start()
        try:
            if self.settings.leader_election:
                self.elector = LeaderElector(self.connection, LeaseConfig(namespace=self.settings.namespace))
                await self.elector.run(self._lead)
            else:
                await self._lead()
        finally:
            self.queue.shutdown()
            await self.cache.aclose()
            await self.credentials.aclose()
            await self.notifier.aclose()
            if probes is not None:
                await probes.stop()

    async def _lead(self) -> None:
        resource = self.settings.resource
        # Subscribe first: the first list then announces every existing app, which enqueues it.
        self.cache.store.subscribe(self.triggers.on_change)
        self.cache.store.subscribe(self.reconciler.projects.on_change)
        self.cache.store.subscribe(self.reconciler.health_rules.on_change)
        # Syncs do not wait for the last wave's health: its changes bring the app back instead.
        self.cache.store.subscribe_status(HealthWatch(self.queue, self.settings.namespace).on_status)
        await self.cache.ensure(f"{resource.group}/{resource.version}", "Application")
        self.apps_synced = True
        log.info("controller running", namespace=self.settings.namespace, workers=self.settings.workers)
        await run_workers(self.queue, self._handle, self.settings.workers)

    async def _handle(self, name: str) -> None:
        try:
            retry_in = await self.reconciler.reconcile(name)
            if retry_in is not None:
                self.queue.add_after(name, retry_in)  # a sync's retry backoff (the queue keeps the sooner)
        finally:
            # Even a failing app is looked at again on the poll (a failure also retries with
            # backoff); a deleted one is not, or its name would be polled forever.
            if self._exists(name):
                self.triggers.poll_later(name)

    def _project(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """An AppProject from the watch cache (the reconciler watches them before any sync)."""
        return self.cache.store.get(ResourceKey(self.settings.resource.group, "AppProject", namespace, name))

    def _exists(self, name: str) -> bool:
        resource = self.settings.resource
        key = ResourceKey(resource.group, "Application", self.settings.namespace, name)
        return self.cache.store.get(key) is not None
