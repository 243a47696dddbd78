"""`gitward app manifests NAME`: the app's objects as YAML, as `argocd app manifests` prints them.

`--source git` renders the app's sources as `gitward app diff` does
(gitward.cli.app.desired); `--source live` reads from the cluster the objects
the app's status lists. Secret values are masked either way: this output ends
up in terminals, CI logs and tickets.
"""

from __future__ import annotations

import enum
import sys
from typing import Annotated, Any

import typer
import yaml

from gitward.cli.app.api import BAD_INPUT, Apps, Name, Target, run, with_target
from gitward.cli.app.desired import render, sources_at
from gitward.cli.output import fail
from gitward.engine.diff.normalize import mask_secrets
from gitward.kube import KubeError, Writer
from gitward.model.application import Application
from gitward.model.fields import SpecError
from gitward.model.status import ResourceStatus


class ManifestSource(enum.StrEnum):
    git = "git"
    live = "live"


@with_target
def manifests(
    name: Name,
    source: Annotated[
        ManifestSource,
        typer.Option("--source", help="git: what the sources render to; live: the objects in the cluster."),
    ] = ManifestSource.git,
    revision: Annotated[
        str,
        typer.Option("--revision", help="--source git: this revision instead of the target (one source)."),
    ] = "",
    timeout: Annotated[float, typer.Option(help="Seconds a renderer may run.")] = 90.0,
    *,
    target: Target,
) -> None:
    """Print the app's objects as YAML, Secret values masked; exit 2 if its sources do not render."""
    if revision and source is ManifestSource.live:
        fail("--revision reads Git: it works with --source git", BAD_INPUT)

    async def read(api: Apps) -> tuple[Application, list[dict[str, Any]]]:
        app = _parse(name, await api.get(name))
        if source is ManifestSource.git:
            return app, []
        return app, await _live(api, app)

    app, objects = run(target, read)
    if source is ManifestSource.git:
        objects = render(target, app, sources_at(app, revision), timeout)
    masked = [mask_secrets(obj, None)[0] or {} for obj in objects]
    sys.stdout.write(yaml.dump_all(masked, Dumper=yaml.CSafeDumper, sort_keys=False))


def _parse(name: str, obj: dict[str, Any]) -> Application:
    try:
        return Application.from_dict(obj)
    except SpecError as problem:
        fail(f"application '{name}' has an invalid spec: {problem}", BAD_INPUT)


async def _live(api: Apps, app: Application) -> list[dict[str, Any]]:
    """The objects the app's status lists, in its order, as the cluster has them; those gone are skipped."""
    writer = Writer(api.connection)
    found = []
    for resource in app.status.resources if app.status else ():
        obj = await _get(writer, resource)
        if obj is not None:
            # Who wrote which field: most of an object's bytes, and nothing a reader of manifests wants.
            obj.get("metadata", {}).pop("managedFields", None)
            found.append(obj)
    return found


async def _get(writer: Writer, resource: ResourceStatus) -> dict[str, Any] | None:
    try:
        if resource.version:
            version = f"{resource.group}/{resource.version}" if resource.group else resource.version
        else:
            version = (await writer.discovery.preferred(resource.group, resource.kind)).api_version
        return await writer.get(version, resource.kind, resource.name, resource.namespace)
    except KubeError as problem:
        if problem.not_found:  # a kind no longer served (its CRD deleted): the object is gone too
            return None
        raise
