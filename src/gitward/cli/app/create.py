"""`gitward app create`: an Application from flags, from a manifest (-f), or both, as `argocd app create`.

An existing app with the same spec is left alone; a different spec is
refused unless --upsert, which replaces the spec and keeps the status,
finalizers and the labels and annotations others put there.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

import typer

from gitward.cli.app.api import (
    BAD_INPUT,
    Apps,
    CliError,
    Target,
    run,
    with_target,
)
from gitward.cli.app.spec import Flags, build
from gitward.cli.output import fail
from gitward.engine import options as sync_options
from gitward.model.sync import SyncSpecError


@with_target
def create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The application's name (or metadata.name in -f).")
    ] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="An Application manifest (YAML or JSON; - for stdin).")
    ] = None,
    repo: Annotated[
        str, typer.Option("--repo", help="Git repository URL (or Helm repository with --helm-chart).")
    ] = "",
    path: Annotated[str, typer.Option("--path", help="The app's folder in the repository.")] = "",
    revision: Annotated[str, typer.Option("--revision", help="Branch, tag, SHA or version range.")] = "",
    chart: Annotated[str, typer.Option("--helm-chart", help="A chart of the Helm repository --repo.")] = "",
    dest_server: Annotated[str, typer.Option("--dest-server", help="Destination API server URL.")] = "",
    dest_name: Annotated[str, typer.Option("--dest-name", help="Destination cluster name.")] = "",
    dest_namespace: Annotated[str, typer.Option("--dest-namespace", help="Destination namespace.")] = "",
    project: Annotated[str, typer.Option("--project", help="AppProject (default: default).")] = "",
    sync_policy: Annotated[str, typer.Option("--sync-policy", help="automated or none.")] = "",
    self_heal: Annotated[
        bool, typer.Option("--self-heal", help="Automated: revert edits made by hand.")
    ] = False,
    auto_prune: Annotated[
        bool, typer.Option("--auto-prune", help="Automated: prune what Git dropped.")
    ] = False,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Automated: let an empty render prune.")
    ] = False,
    sync_option: Annotated[
        list[str] | None, typer.Option("--sync-option", help="e.g. CreateNamespace=true (repeatable).")
    ] = None,
    helm_set: Annotated[
        list[str] | None, typer.Option("--helm-set", help="Helm name=value (repeatable).")
    ] = None,
    values: Annotated[
        list[str] | None, typer.Option("--values", help="Helm values file (repeatable).")
    ] = None,
    release_name: Annotated[str, typer.Option("--release-name", help="Helm release name.")] = "",
    recurse: Annotated[
        bool, typer.Option("--directory-recurse", help="Plain manifests: sub-folders too.")
    ] = False,
    label: Annotated[list[str] | None, typer.Option("--label", "-l", help="key=value (repeatable).")] = None,
    set_finalizer: Annotated[
        bool, typer.Option("--set-finalizer", help="Deleting the app will delete its resources.")
    ] = False,
    upsert: Annotated[bool, typer.Option("--upsert", help="Replace the spec of an existing app.")] = False,
    *,
    target: Target,
) -> None:
    """Create an application from flags, from -f FILE, or both (flags win)."""
    flags = Flags(
        name=name,
        repo=repo,
        path=path,
        revision=revision,
        chart=chart,
        dest_server=dest_server,
        dest_name=dest_name,
        dest_namespace=dest_namespace,
        project=project,
        sync_policy=sync_policy,
        self_heal=self_heal,
        auto_prune=auto_prune,
        allow_empty=allow_empty,
        sync_options=tuple(sync_option or ()),
        helm_set=tuple(helm_set or ()),
        values=tuple(values or ()),
        release_name=release_name,
        recurse=recurse,
        labels=tuple(label or ()),
        set_finalizer=set_finalizer,
    )
    try:
        manifest = build(flags, file, target)
        sync_options.parse((manifest["spec"].get("syncPolicy") or {}).get("syncOptions") or ())
    except CliError as problem:
        fail(str(problem), problem.code)
    except SyncSpecError as problem:
        fail(str(problem), BAD_INPUT)
    print(run(target, lambda api: _create(api, manifest, upsert)))


async def _create(api: Apps, manifest: dict[str, Any], upsert: bool) -> str:
    name = manifest["metadata"]["name"]
    existing = await api.find(name)
    if existing is None:
        await api.create(manifest)
        return f"application '{name}' created"
    if existing.get("spec") == manifest["spec"]:
        return f"application '{name}' unchanged"
    if not upsert:
        raise CliError(f"application '{name}' exists with a different spec; --upsert replaces it", BAD_INPUT)
    updated = copy.deepcopy(existing)
    updated["spec"] = manifest["spec"]
    meta, new = updated["metadata"], manifest["metadata"]
    for key in ("labels", "annotations"):
        if new.get(key):
            meta[key] = {**(meta.get(key) or {}), **new[key]}
    finalizers = [*(meta.get("finalizers") or []), *(new.get("finalizers") or [])]
    if finalizers:
        meta["finalizers"] = list(dict.fromkeys(finalizers))
    await api.replace(updated)
    return f"application '{name}' updated"
