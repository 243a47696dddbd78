"""`gitward app diff NAME`: what a sync of the app would change, rendered here as the controller renders it.

The app's sources are rendered locally as the controller renders them
(gitward.cli.app.desired), or `--local DIR` stands in for them; the comparison
is `gitward diff`'s: a server-side dry run with the app's tracking ids and
ignoreDifferences. Exit code, as `argocd app diff`: 0 no difference, 1
differences, 2 an error.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from gitward.cli import diff as cluster_diff
from gitward.cli.app.api import Name, Target, run, with_target
from gitward.cli.app.desired import render, sources_at
from gitward.cli.cluster_args import render_folder
from gitward.cli.output import fail
from gitward.engine.diff.ignore import IgnoreRuleError, load_rules
from gitward.engine.tracking import tracking_app
from gitward.kube import KubeError
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.sync import SyncSpecError

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
    sources = sources_at(app, revision)
    destination = app.spec.destination.namespace
    if local is not None:
        objects = render_folder(local, name, destination, recurse, timeout, ERROR)
    else:
        objects = render(target, app, sources, timeout)
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
