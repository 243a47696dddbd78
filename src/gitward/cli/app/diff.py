"""`gitward app diff NAME`: what a sync of the app would change, rendered here as the controller renders it.

The app's sources are resolved and rendered locally by the controller's own
gitward.engine.desired (the credentials of its Git and chart repositories
when the user may read the controller's repository Secrets), or `--local DIR` stands in for it; the comparison
is `gitward diff`'s: a server-side dry run with the app's tracking ids and
ignoreDifferences. Exit code, as `argocd app diff`: 0 no difference, 1
differences, 2 an error.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli import diff as cluster_diff
from gitward.cli.app.api import Name, Target, run, with_target
from gitward.cli.cluster_args import default_kubeconfig, render_folder, tools
from gitward.cli.output import err, fail
from gitward.engine.desired import DesiredState
from gitward.engine.diff.ignore import IgnoreRuleError, load_rules
from gitward.engine.repo_credentials import RepoCredential
from gitward.engine.repo_credentials import load as load_credentials
from gitward.engine.tracking import tracking_app
from gitward.kube import Connection, KubeError
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.source import ApplicationSource
from gitward.model.sync import SyncSpecError
from gitward.render import Renderer, RenderError, RenderSettings, ValidationFailed
from gitward.source import RepoCache, SourceError

ERROR = cluster_diff.FAILED


@with_target
def diff(
    name: Name,
    local: Annotated[
        Path | None, typer.Option("--local", help="Compare this folder instead of the app's source.")
    ] = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Compare this revision instead of the target (one source).")
    ] = "",
    recurse: Annotated[bool, typer.Option("--local-recurse", help="--local: include sub-folders.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds a renderer may run.")] = 90.0,
    *,
    target: Target,
) -> None:
    """Show how the cluster differs from what the app declares; exit 0 none, 1 differences, 2 errors."""
    obj = run(target, lambda api: api.get(name))
    try:
        app = Application.from_dict(obj)
        rules = load_rules((obj.get("spec") or {}).get("ignoreDifferences") or [])
    except (SpecError, IgnoreRuleError) as problem:
        fail(f"application '{name}' has an invalid spec: {problem}", ERROR)
    sources = app.spec.all_sources
    if revision and len(sources) != 1:
        fail("--revision works on an app with one source; this one has several", ERROR)
    destination = app.spec.destination.namespace
    if local is not None:
        objects = render_folder(local, name, destination, recurse, timeout, ERROR)
    else:
        if revision:
            sources = (dataclasses.replace(sources[0], target_revision=revision),)
        objects = _render(target, app, sources, timeout)
    owner = tracking_app(app.namespace or target.namespace, name)
    try:
        results = asyncio.run(
            cluster_diff.compare(objects, owner, destination, rules, target.kubeconfig, target.context)
        )
    except (KubeError, SyncSpecError, IgnoreRuleError) as problem:
        fail(str(problem), ERROR)
    cluster_diff.show(results)
    if any(r.error for r in results):
        raise SystemExit(ERROR)
    raise SystemExit(cluster_diff.DIFFERENT if any(r.diff for r in results) else cluster_diff.IN_SYNC)


def _render(
    target: Target, app: Application, sources: tuple[ApplicationSource, ...], timeout: float
) -> list[dict[str, Any]]:
    desired = DesiredState(RepoCache(), Renderer(tools(), RenderSettings(timeout=timeout)), _Secrets(target))
    try:
        return asyncio.run(desired.render(app, sources)).objects
    except ValidationFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(ERROR) from None
    except (SourceError, RenderError, SpecError, KubeError) as problem:
        fail(str(problem), ERROR)


@dataclasses.dataclass(frozen=True)
class _Secrets:
    """The controller's repository Secrets (Git and chart repositories), if this user may read them."""

    target: Target

    async def load(self) -> tuple[list[RepoCredential], list[str]]:
        kubeconfig = self.target.kubeconfig or default_kubeconfig()
        async with Connection.from_kubeconfig(kubeconfig, self.target.context) as conn:
            try:
                known, _ = await load_credentials(conn, self.target.namespace)
            except KubeError as problem:
                if problem.code != 403:
                    raise
                return [], []  # public access only
        # Unusable Secrets are the controller's to report (its log and the app's conditions).
        return known, []
