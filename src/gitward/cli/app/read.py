"""`gitward app list|get|history`: what is deployed, as the controller last saw it.

`get --refresh` (or `--hard-refresh`) first asks the controller to look at Git
again and waits until it has, so the answer is current, not merely cached.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
import yaml
from rich.text import Text

from gitward.cli.app import view
from gitward.cli.app.api import (
    FAILED,
    Apps,
    Name,
    Target,
    run,
    with_target,
)
from gitward.cli.output import Format, emit, err
from gitward.model.requests import refresh_patch

REFRESH_TIMEOUT = 60.0


class Output(enum.StrEnum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"
    name = "name"


OutputOption = Annotated[Output, typer.Option("--output", "-o", help="table, wide, json, yaml or name.")]


def shown(app: Mapping[str, Any]) -> dict[str, Any]:
    """The app as `kubectl get -o json` shows it: without managedFields, which only the server needs."""
    metadata = {k: v for k, v in (app.get("metadata") or {}).items() if k != "managedFields"}
    return {**app, "metadata": metadata}


def dump(data: object, output: Output) -> None:
    if output is Output.json:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))


@with_target
def list_apps(
    project: Annotated[
        list[str] | None, typer.Option("--project", "-p", help="Only apps of this project (repeatable).")
    ] = None,
    selector: Annotated[str, typer.Option("--selector", "-l", help="Label selector, as kubectl's.")] = "",
    output: OutputOption = Output.table,
    *,
    target: Target,
) -> None:
    """List applications with their sync and health status."""
    apps = run(target, lambda api: api.list(selector))
    if project:
        apps = [a for a in apps if (a.get("spec") or {}).get("project", "default") in project]
    apps.sort(key=lambda a: str(a["metadata"]["name"]))
    if output is Output.name:
        sys.stdout.write("".join(f"{a['metadata']['name']}\n" for a in apps))
    elif output in (Output.json, Output.yaml):
        dump([shown(a) for a in apps], output)
    else:
        wide = output is Output.wide
        rows = [view.list_row(a, wide) for a in apps]
        columns = ["name", "cluster", "namespace", "project", "status", "health", "syncpolicy", "conditions"]
        emit(rows, columns + (["repo", "path", "target", "revision"] if wide else []), Format.table)


@with_target
def get(
    name: Name,
    refresh: Annotated[bool, typer.Option("--refresh", help="Re-read Git first (bypass caches).")] = False,
    hard_refresh: Annotated[
        bool, typer.Option("--hard-refresh", help="Re-read Git and render again from scratch.")
    ] = False,
    show_operation: Annotated[
        bool, typer.Option("--show-operation", help="Also show the last operation's state.")
    ] = False,
    output: OutputOption = Output.table,
    *,
    target: Target,
) -> None:
    """Show an application: source, destination, sync and health status, conditions, resources."""

    async def work(api: Apps) -> tuple[dict[str, Any], bool]:
        if not (refresh or hard_refresh):
            return await api.get(name), True
        return await _refreshed(api, name, hard_refresh)

    app, current = run(target, work)
    if output is Output.name:
        sys.stdout.write(f"{app['metadata']['name']}\n")
    elif output in (Output.json, Output.yaml):
        dump(shown(app), output)
    else:
        out = view.console()
        out.print(view.summary(app, show_operation or output is Output.wide))
        out.print()
        out.print(view.resources(app))
    if not current:
        err.print(
            Text.assemble(
                ("gitward: ", "red"),
                f"the controller did not finish the refresh within {REFRESH_TIMEOUT:g}s "
                "(is it running?); shown: the status as it was",
            ),
            soft_wrap=True,
        )
        raise SystemExit(FAILED)


async def _refreshed(api: Apps, name: str, hard: bool) -> tuple[dict[str, Any], bool]:
    """Ask for a refresh and wait until the controller has done it (it removes the annotation)."""
    annotation = api.target.resource.refresh_annotation
    await api.get(name)  # a missing app is named as such, not as a failed patch
    await api.patch(name, refresh_patch(api.target.resource, hard))
    deadline = time.monotonic() + REFRESH_TIMEOUT
    while True:
        app = await api.get(name)
        if annotation not in ((app["metadata"].get("annotations")) or {}):
            return app, True
        if time.monotonic() >= deadline:
            return app, False
        await asyncio.sleep(0.3)


@with_target
def history(
    name: Name,
    output: OutputOption = Output.table,
    *,
    target: Target,
) -> None:
    """List what the app deployed, newest first: the IDs `gitward app rollback` takes."""
    app = run(target, lambda api: api.get(name))
    entries: Sequence[Mapping[str, Any]] = view.status(app).get("history") or []
    if output in (Output.json, Output.yaml):
        dump(list(entries), output)
    elif output is Output.name:
        sys.stdout.write("".join(f"{e.get('id')}\n" for e in reversed(entries)))
    else:
        if not entries:
            err.print(f"{name} has not been deployed yet: no history", soft_wrap=True)
            return
        emit(view.history_rows(app), ["id", "date", "revision", "initiated_by", "source"], Format.table)
