"""What one running API server holds: its cluster connection, the app index, tokens, and helpers."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from gitward.cachedir import cache_root
from gitward.controller.metrics import AppInfoCollector
from gitward.controller.status import AppResource
from gitward.controller.wiring import Wiring, build_reconciler
from gitward.kube import Connection, Discovery, Reflector, WatchCache, Writer
from gitward.render import Renderer, Tools
from gitward.server.auth import TokenStore
from gitward.server.desired import DesiredState
from gitward.server.index import AppIndex, IndexStore
from gitward.server.tree import TreeBuilder
from gitward.source import RepoCache


class Anonymous(enum.StrEnum):
    none = "none"
    read_only = "read-only"


@dataclass(frozen=True)
class ServerSettings:
    namespace: str = "gitward"  # where the Applications and the token Secret live
    anonymous: Anonymous = Anonymous.none
    resource: AppResource = field(default_factory=AppResource)
    tools: Tools = field(default_factory=Tools.from_environment)
    # Its own Git cache: the controller's mirrors are not safe to share between processes.
    git_cache: Path | None = None
    heartbeat: float = 15.0
    ui_dir: Path | None = None  # the web UI's built files, served at / when set


class ServerState:
    def __init__(self, connection: Connection, settings: ServerSettings) -> None:
        self.connection = connection
        self.settings = settings
        self.discovery = Discovery(connection)
        self.index = AppIndex(settings.resource.group, settings.namespace)
        self.reflector: Reflector | None = None
        self.tokens = TokenStore(connection, settings.namespace)
        self.writer = Writer(connection, self.discovery)
        self.tree = TreeBuilder(self.writer, self.discovery)
        # Manifests and diffs reuse the controller's render and compare, with a watch cache of their own.
        self.cache = WatchCache(connection, self.discovery)
        self.desired = DesiredState(
            build_reconciler(
                connection,
                self.cache,
                RepoCache(settings.git_cache or cache_root() / "server-git"),
                Renderer(settings.tools),
                Wiring(settings.namespace, settings.resource),
            )
        )
        self.metrics = CollectorRegistry(auto_describe=True)
        self.metrics.register(AppInfoCollector(self.index.objects))

    @property
    def ready(self) -> bool:
        return self.reflector is not None and self.reflector.synced.is_set()

    async def start(self) -> None:
        """Start watching Applications; the server answers /readyz once the first list is in."""
        resource = self.settings.resource
        api = await self.discovery.resolve(f"{resource.group}/{resource.version}", "Application")
        self.reflector = Reflector(self.connection, api, IndexStore(self.index))
        self.reflector.start()
        self.tokens.start()

    async def stop(self) -> None:
        if self.reflector is not None:
            await self.reflector.stop()
        await self.tokens.aclose()
        await self.cache.aclose()


Connect = Callable[[], Connection]
