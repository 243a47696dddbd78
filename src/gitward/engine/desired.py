"""What an app declares at a revision: its sources resolved, checked out and rendered, with credentials.

One path for the controller, the API server, `gitward render` and `gitward
app diff`: each Git source's revision is resolved and checked out with the
repository credentials matching its URL, each chart source is pulled with
those matching its chart repository, and the objects come out as the
controller applies them (with the destination namespace set where the
cluster says the kind is namespaced, when a cluster is at hand).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from gitward.engine.diff.compare import with_namespace
from gitward.engine.repo_credentials import RepoCredential, chart_access_for, match
from gitward.kube import Discovery
from gitward.model.application import Application
from gitward.model.source import ApplicationSource
from gitward.render import AppContext, Renderer, SourceTree
from gitward.source import RepoCache

log = structlog.get_logger(__name__)

# A render that is not a refresh takes a fetch of the repository started this recently: a thousand
# apps of one repository then cost a fetch every few seconds, not one per app (a refresh always fetches).
GIT_MAX_AGE = 3.0


@dataclass
class Revisioned:
    """A rendered revision: the commit of each source and the objects they declare."""

    revisions: list[str]
    objects: list[dict[str, Any]]

    @property
    def revision(self) -> str:
        return ",".join(r for r in self.revisions if r)


class CredentialSource(Protocol):
    """Where repository credentials come from: usable ones, and a message per unusable Secret."""

    async def load(self) -> tuple[list[RepoCredential], list[str]]: ...


@dataclass(frozen=True)
class KnownCredentials:
    """Credentials fixed up front (command options, Secrets read once); none: public access only."""

    known: Sequence[RepoCredential] = ()

    async def load(self) -> tuple[list[RepoCredential], list[str]]:
        return list(self.known), []


class DesiredState:
    """Renders apps' sources; one per process, shared by every caller (its caches are)."""

    def __init__(
        self,
        repos: RepoCache,
        renderer: Renderer,
        credentials: CredentialSource | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.repos = repos
        self.renderer = renderer
        self.credentials = credentials if credentials is not None else KnownCredentials()
        # None (no cluster at hand): objects keep the namespace their manifests give them.
        self.discovery = discovery

    async def render(
        self,
        app: Application,
        sources: Sequence[ApplicationSource] | None = None,
        *,
        fresh: bool = False,
        hard: bool = False,
    ) -> Revisioned:
        """The objects of `sources` (default: the spec's, at their target revisions).

        `fresh` (a refresh) fetches from Git whatever is cached; `hard` also forgets the cached render.
        """
        sources = tuple(sources or app.spec.all_sources)
        return await self.render_sources(
            sources, app.name, app.spec.destination.namespace, fresh=fresh, hard=hard
        )

    async def render_sources(
        self,
        sources: Sequence[ApplicationSource],
        name: str,
        namespace: str,
        *,
        fresh: bool = False,
        hard: bool = False,
    ) -> Revisioned:
        """As `render`, for sources without an Application: `name` is the app's, `namespace` its target."""
        known, problems = await self.credentials.load()
        for problem in problems:
            log.warning("repository secret unusable", problem=problem)

        async def tree(source: ApplicationSource) -> SourceTree | None:
            if source.chart:
                if hard:
                    self.renderer.cache.discard(source.repo_url, source.target_revision)
                return None
            chosen = match(known, source.repo_url)
            credentials = chosen.credentials if chosen else None
            if fresh:
                found = await self.repos.resolve(
                    source.repo_url, source.target_revision, credentials=credentials, refresh=True
                )
            else:
                found = await self.repos.resolve(
                    source.repo_url, source.target_revision, credentials=credentials, max_age=GIT_MAX_AGE
                )
            if hard:
                self.renderer.cache.discard(source.repo_url, found.sha)
            root = await self.repos.checkout(source.repo_url, found.sha, credentials=credentials)
            return SourceTree(root, found.sha)

        trees = list(await asyncio.gather(*(tree(s) for s in sources)))
        charts = chart_access_for(known, (s.repo_url for s in sources if s.chart))
        context = AppContext(name, namespace, chart_access=charts)
        objects = await self.renderer.render_sources_async(sources, trees, context)
        if self.discovery is not None:
            objects = await with_namespace(objects, namespace, self.discovery)
        revisions = [
            t.sha if t is not None else (s.target_revision or "") for s, t in zip(sources, trees, strict=True)
        ]
        return Revisioned(revisions, objects)
