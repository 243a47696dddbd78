"""One entry point for every kind of source: choose the renderer as Argo CD does, cache the result.

The caller (the CLI, later the engine) resolves each source's revision and
checks out its tree with gitward.source; this layer only ever sees folders.
A source with `chart` is pulled from its Helm repository here (the chart
version plays the commit's part).

Choice (Argo CD's): `chart` -> Helm repository; a spec naming exactly one of
helm/kustomize/directory -> that one (two is an error); else the files of the
app folder: a kustomization (kustomization.yaml/.yml/Kustomization) ->
Kustomize, Chart.yaml -> Helm, anything else -> directory. When a folder has
both a kustomization and a Chart.yaml, Kustomize wins, as in Argo CD's
discovery.

Caching: by (repository URL, commit SHA or chart version, path, source spec
fingerprint, and the other inputs: app name and namespace for Helm, the
commits of `$ref` sources, the binaries, the settings). A hit starts no
process and reads no file. A folder without a SHA (a local checkout) and a
chart version range are never cached. Concurrent renders of one key share a
single run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitward.model import ApplicationSource, HelmSource, ResourceKey, SourceType, SpecError
from gitward.render.cache import RenderCache, RenderKey
from gitward.render.charts import default_charts_dir
from gitward.render.directory import render_directory
from gitward.render.helm import Release, render_helm
from gitward.render.job import Job
from gitward.render.kustomize import kustomization_file, render_kustomize
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.pull import ChartAccess, exact_version, pull_chart
from gitward.render.tools import ToolRunner, Tools
from gitward.render.trees import inside
from gitward.render.validate import Limits

DEFAULT_TIMEOUT = 90.0  # Argo CD's exec timeout
DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024


@dataclass(frozen=True)
class SourceTree:
    """A source's files as the caller checked them out: the repository's top, and its commit."""

    root: Path
    sha: str = ""  # "" for a folder that is not a commit: rendered, never cached


@dataclass(frozen=True)
class AppContext:
    """What a render needs to know about the app besides its source."""

    name: str  # the Helm release name unless helm.releaseName says otherwise
    namespace: str = ""  # the destination namespace: Helm's --namespace unless helm.namespace is set
    kube_version: str = ""  # the destination cluster's version, for Helm's .Capabilities
    api_versions: tuple[str, ...] = ()
    # How to reach the chart repositories of `chart` sources, by repoURL (from repository Secrets).
    # Not part of the render cache key: a chart version is the same whoever pulled it.
    chart_access: Mapping[str, ChartAccess] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderSettings:
    timeout: float = DEFAULT_TIMEOUT  # per source render, all its processes together
    # Kustomize remote bases, Helm dependencies from repositories and values files by URL.
    allow_network: bool = False
    limits: Limits = field(default_factory=Limits)
    max_output_bytes: int = DEFAULT_MAX_OUTPUT
    scratch_dir: Path | None = None  # where per-render temporary folders go (default: the system's)
    charts_dir: Path | None = None  # pulled charts (default: $GITWARD_CACHE/charts)


@dataclass
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class Renderer:
    def __init__(
        self,
        tools: Tools | None = None,
        settings: RenderSettings | None = None,
        *,
        cache: RenderCache | None = None,
        runner: ToolRunner | None = None,
    ) -> None:
        self.tools = tools or Tools.from_environment()
        self.settings = settings or RenderSettings()
        self.cache = cache if cache is not None else RenderCache()
        self.runner = runner or ToolRunner()
        self._lock = threading.Lock()
        self._flights: dict[RenderKey, _Flight] = {}

    # Public API ---------------------------------------------------------------------------------

    def render(
        self,
        source: ApplicationSource,
        tree: SourceTree | None,
        app: AppContext,
        refs: Mapping[str, SourceTree] | None = None,
    ) -> list[dict[str, Any]]:
        """The validated objects of one source, in a stable order; raises ValidationFailed or RenderError.

        `tree` is None only for a `chart` source; `refs` maps `ref` names to trees for `$ref/...` values.
        """
        refs = refs or {}
        kind = self._choose(source, tree)
        key = self._key(source, tree, app, refs, kind)
        if key is None:
            return self._render(source, tree, app, refs, kind)
        while True:
            hit = self.cache.get(key)  # raises a cached ValidationFailed
            if hit is not None:
                return hit
            with self._lock:
                flight = self._flights.get(key)
                owner = flight is None
                if flight is None:
                    flight = self._flights[key] = _Flight()
            if not owner:
                flight.done.wait()
                if flight.error is not None:
                    raise flight.error
                continue  # the owner stored it (unless too large for the cache: then render ourselves)
            try:
                return self.cache.put(key, self._render(source, tree, app, refs, kind))
            except ValidationFailed as failure:
                if not failure.transient:
                    self.cache.put_failure(key, failure)
                flight.error = failure
                raise
            except BaseException as problem:
                flight.error = problem
                raise
            finally:
                with self._lock:
                    self._flights.pop(key, None)
                flight.done.set()

    def render_sources(
        self, sources: Sequence[ApplicationSource], trees: Sequence[SourceTree | None], app: AppContext
    ) -> list[dict[str, Any]]:
        """An app's `sources[]` together: each rendered (ref-only ones give nothing), then concatenated.

        Problems of every source are collected (each prefixed `sources[i]`) and
        an object declared by two sources is an error, as within one source.
        """
        if len(sources) != len(trees):
            raise ValueError("one tree (or None for a chart) per source")
        refs = {s.ref: t for s, t in zip(sources, trees, strict=True) if s.ref and t is not None}
        problems: list[Problem] = []
        transient = False
        out: list[dict[str, Any]] = []
        owner: dict[ResourceKey, int] = {}
        for i, (source, tree) in enumerate(zip(sources, trees, strict=True)):
            if source.ref_only:
                continue
            try:
                objects = self.render(source, tree, app, refs)
            except ValidationFailed as failure:
                transient = transient or failure.transient
                problems += [
                    Problem(p.file, p.line, p.column, f"sources[{i}]: {p.message}") for p in failure.problems
                ]
                continue
            for obj in objects:
                key = ResourceKey.of(obj)
                first = owner.setdefault(key, i)
                if first != i:
                    problems.append(
                        Problem(
                            source.path or source.chart or ".",
                            0,
                            0,
                            f"sources[{i}]: {key} is also declared by sources[{first}]",
                        )
                    )
            out += objects
        if problems:
            raise ValidationFailed(problems, transient=transient)
        return out

    async def render_async(
        self,
        source: ApplicationSource,
        tree: SourceTree | None,
        app: AppContext,
        refs: Mapping[str, SourceTree] | None = None,
    ) -> list[dict[str, Any]]:
        """`render` in a worker thread: the event loop keeps running while helm or kustomize does."""
        return await asyncio.to_thread(self.render, source, tree, app, refs)

    async def render_sources_async(
        self, sources: Sequence[ApplicationSource], trees: Sequence[SourceTree | None], app: AppContext
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.render_sources, sources, trees, app)

    # Choice and key -----------------------------------------------------------------------------

    def _choose(self, source: ApplicationSource, tree: SourceTree | None) -> SourceType:
        try:
            explicit = source.explicit_type()
        except SpecError as problem:
            raise ValidationFailed([Problem("spec", 0, 0, str(problem))]) from None
        if source.chart:
            return SourceType.helm
        if tree is None:
            raise ValueError("a source without `chart` needs its checked-out tree")
        if explicit is not None:
            return explicit
        folder = tree.root / source.path
        if kustomization_file(folder) is not None:
            return SourceType.kustomize
        if (folder / "Chart.yaml").is_file():
            return SourceType.helm
        return SourceType.directory

    def _key(
        self,
        source: ApplicationSource,
        tree: SourceTree | None,
        app: AppContext,
        refs: Mapping[str, SourceTree],
        kind: SourceType,
    ) -> RenderKey | None:
        if source.chart:
            if not exact_version(source.target_revision):
                return None
            revision = source.target_revision
        elif tree is None or not tree.sha:
            return None
        else:
            revision = tree.sha
        used: dict[str, str] = {}
        for entry in source.helm.value_files if source.helm else ():
            if entry.startswith("$"):
                name = entry[1:].partition("/")[0]
                ref = refs.get(name)
                if ref is not None and not ref.sha:
                    return None  # a values file from a folder that is not a commit
                used[name] = ref.sha if ref else ""
        settings = self.settings
        inputs = {
            "kind": kind.value,
            "app": [app.name, app.namespace, app.kube_version, list(app.api_versions)]
            if kind is SourceType.helm
            else [],
            "refs": used,
            "tools": [self.tools.helm, self.tools.kustomize],
            "settings": [
                settings.allow_network,
                settings.limits.max_file_bytes,
                settings.limits.max_expanded_nodes,
                settings.limits.max_expanded_bytes,
                settings.limits.max_depth,
                settings.max_output_bytes,
            ],
        }
        digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()
        return RenderKey(source.repo_url, revision, source.path, source.fingerprint(), digest)

    # Rendering ----------------------------------------------------------------------------------

    def _render(
        self,
        source: ApplicationSource,
        tree: SourceTree | None,
        app: AppContext,
        refs: Mapping[str, SourceTree],
        kind: SourceType,
    ) -> list[dict[str, Any]]:
        settings = self.settings
        limits = settings.limits.for_one_render()  # one budget for every text this render reads
        if kind is SourceType.directory and tree is not None:
            return render_directory(tree.root, source.path, source.directory, limits)
        with tempfile.TemporaryDirectory(
            prefix="gitward-render-", dir=settings.scratch_dir, ignore_cleanup_errors=True
        ) as scratch:
            job = Job(
                runner=self.runner,
                tools=self.tools,
                scratch=Path(scratch),
                timeout=settings.timeout,
                network=settings.allow_network,
                limits=limits,
                max_output=settings.max_output_bytes,
            )
            job.paths[scratch] = "<scratch>"
            if source.chart:
                charts = settings.charts_dir or default_charts_dir()
                folder, _version = pull_chart(
                    job,
                    charts,
                    source.repo_url,
                    source.chart,
                    source.target_revision,
                    app.chart_access.get(source.repo_url),
                )
                placed = render_helm(
                    job,
                    folder.parent,
                    folder,
                    source.helm or HelmSource(),
                    _release(source, app),
                    _ref_roots(refs),
                )
                return [p.obj for p in placed]
            if tree is None:
                raise ValueError("a source without `chart` needs its checked-out tree")
            root = tree.root.resolve()
            folder = _app_folder(root, source.path)
            if kind is SourceType.kustomize:
                placed = render_kustomize(
                    job, root, folder, source.kustomize, allow_remote=settings.allow_network
                )
            else:
                placed = render_helm(
                    job, root, folder, source.helm or HelmSource(), _release(source, app), _ref_roots(refs)
                )
            return [p.obj for p in placed]


def _release(source: ApplicationSource, app: AppContext) -> Release:
    helm = source.helm or HelmSource()
    api_versions = tuple(dict.fromkeys((*app.api_versions, *helm.api_versions)))
    return Release(
        name=helm.release_name or app.name,
        namespace=helm.namespace or app.namespace,
        kube_version=helm.kube_version or app.kube_version,
        api_versions=api_versions,
        name_field="helm.releaseName" if helm.release_name else "the app's name",
        namespace_field="helm.namespace" if helm.namespace else "destination.namespace",
        kube_version_field="helm.kubeVersion" if helm.kube_version else "the cluster's version",
    )


def _ref_roots(refs: Mapping[str, SourceTree]) -> dict[str, Path]:
    return {name: tree.root.resolve() for name, tree in refs.items()}


def _app_folder(root: Path, path: str) -> Path:
    folder = (root / path).resolve() if path not in ("", ".") else root
    if not inside(folder, root):
        raise ValidationFailed([Problem(path, 0, 0, "path leaves the repository")])
    if not folder.is_dir():
        raise ValidationFailed([Problem(path or ".", 0, 0, "no such folder in the repository")])
    return folder
