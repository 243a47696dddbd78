"""What an app's sources render to, for `gitward app diff` and `gitward app manifests`.

Rendered here by the controller's own gitward.engine.desired, with the
credentials of the controller's Git and chart repositories when the user may
read its repository Secrets (public access otherwise).
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from gitward.cli.app.api import BAD_INPUT, Target
from gitward.cli.cluster_args import default_kubeconfig, tools
from gitward.cli.output import err, fail
from gitward.engine.desired import DesiredState
from gitward.engine.repo_credentials import RepoCredential
from gitward.engine.repo_credentials import load as load_credentials
from gitward.kube import Connection, KubeError
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.source import ApplicationSource
from gitward.render import Renderer, RenderError, RenderSettings, ValidationFailed
from gitward.source import RepoCache, SourceError

# `app diff` exits 2 on any error, and 2 is every app command's bad input: one code for both.
RENDER_FAILED = BAD_INPUT


def sources_at(app: Application, revision: str) -> tuple[ApplicationSource, ...]:
    """The app's sources, or with `revision` its one source at that revision (several: exit 2)."""
    sources = app.spec.all_sources
    if not revision:
        return sources
    if len(sources) != 1:
        fail("--revision works on an app with one source; this one has several", RENDER_FAILED)
    return (dataclasses.replace(sources[0], target_revision=revision),)


def render(
    target: Target, app: Application, sources: tuple[ApplicationSource, ...], timeout: float
) -> list[dict[str, Any]]:
    """The objects `sources` render to; a failure prints its problems (file:line:col) and exits 2."""
    desired = DesiredState(
        RepoCache(), Renderer(tools(), RenderSettings(timeout=timeout)), RepoSecrets(target)
    )
    try:
        return asyncio.run(desired.render(app, sources)).objects
    except ValidationFailed as failure:
        for problem in failure.problems:
            err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(RENDER_FAILED) from None
    except (SourceError, RenderError, SpecError, KubeError) as problem:
        fail(str(problem), RENDER_FAILED)


@dataclasses.dataclass(frozen=True)
class RepoSecrets:
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
