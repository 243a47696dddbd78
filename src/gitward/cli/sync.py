"""`gitward sync --local DIR`: push mode from CI, with the controller's engine and tracking.

Exit codes: 0 synced and Healthy, 1 the sync failed, 2 bad input (nothing
was sent to the cluster), 3 synced but not Healthy (Degraded, or still
progressing when --timeout ran out).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gitward.cli.cluster_args import (
    AppName,
    Context,
    DestNamespace,
    Kubeconfig,
    LocalDir,
    default_kubeconfig,
    render_folder,
)
from gitward.cli.output import err, fail
from gitward.engine import options as sync_options
from gitward.engine.sync.operation import SyncRequest
from gitward.engine.sync.operation import sync as run_sync
from gitward.engine.sync.result import SyncResult
from gitward.engine.tracking import format_id
from gitward.kube import Connection, Discovery, KubeError, Writer
from gitward.model.health import HealthStatus
from gitward.model.resource import ResourceKey
from gitward.model.status import OperationPhase
from gitward.model.sync import SyncSpecError

SYNCED, FAILED, BAD_INPUT, NOT_HEALTHY = 0, 1, 2, 3


def sync(
    local: LocalDir,
    app_name: AppName,
    dest_namespace: DestNamespace,
    prune: Annotated[
        bool, typer.Option("--prune", help="Delete the app's objects the folder no longer declares.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and show what would change; write nothing.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the last wave to be healthy.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds each health wait or hook may take.")] = 300.0,
    sync_option: Annotated[
        list[str] | None,
        typer.Option("--sync-option", help="A sync option such as CreateNamespace=true (repeatable)."),
    ] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Let an empty folder prune everything.")
    ] = False,
    recurse: Annotated[bool, typer.Option("--recurse", help="Plain manifests: include sub-folders.")] = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
    render_timeout: Annotated[float, typer.Option(help="Seconds a renderer may run.")] = 90.0,
    output: Annotated[
        str, typer.Option("--output", "-o", help="'json' for programs; default: a table.")
    ] = "",
) -> None:
    """Apply DIR to the cluster in waves, wait for health, optionally prune; exit 0 synced and Healthy."""
    if output not in ("", "json"):
        fail(f"--output {output!r}: only json is supported", BAD_INPUT)
    try:
        format_id(app_name, ResourceKey("", "ConfigMap", dest_namespace, "x"))
        app_options = sync_options.parse(sync_option or [], where="--sync-option")
    except SyncSpecError as exc:
        fail(str(exc), BAD_INPUT)
    objects = render_folder(local, app_name, dest_namespace, recurse, render_timeout, BAD_INPUT)
    request = SyncRequest(
        app=app_name,
        objects=objects,
        namespace=dest_namespace,
        options=app_options,
        prune=prune,
        dry_run=dry_run,
        allow_empty=allow_empty,
        wait=wait,
        timeout=timeout,
    )
    try:
        result = asyncio.run(_sync(request, kubeconfig, context))
    except KubeError as exc:
        fail(str(exc), FAILED)
    if output == "json":
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        _show(result)
    raise SystemExit(exit_code(result, waited=wait))


def exit_code(result: SyncResult, *, waited: bool) -> int:
    if result.spec_error:
        return BAD_INPUT
    if result.phase is not OperationPhase.succeeded:
        return FAILED
    if result.dry_run or result.health is None or result.health.status is HealthStatus.healthy:
        return SYNCED
    # Without --wait a fresh rollout is still progressing; only a verdict of Degraded counts then.
    if not waited and result.health.status is not HealthStatus.degraded:
        return SYNCED
    return NOT_HEALTHY


class _Progress:
    """Progress lines on stderr while the sync runs; a line repeated by a polling wait is shown once."""

    def __init__(self) -> None:
        self.last = ""

    def __call__(self, line: str) -> None:
        if line != self.last:
            self.last = line
            err.print(Text.assemble(("… ", "dim"), line), soft_wrap=True)


async def _sync(request: SyncRequest, kubeconfig: Path | None, context: str | None) -> SyncResult:
    async with Connection.from_kubeconfig(kubeconfig or default_kubeconfig(), context) as connection:
        writer = Writer(connection, Discovery(connection))
        return await run_sync(request, writer, progress=_Progress())


def _show(result: SyncResult) -> None:
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 240)
    table = Table(header_style="bold")
    for column in ("KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"):
        table.add_column(column)
    for r in result.resources:
        hook = f"{r.hook} {r.hook_phase or ''}".strip() if r.hook else ""
        health = str(r.health.status) if r.health else ""
        # Messages may hold brackets (server errors quote lists): Text, so they are never read as markup.
        cells = (r.key.kind, r.key.namespace, r.key.name, str(r.status), health, hook, r.message)
        table.add_row(*(Text(cell) for cell in cells))
    out.print(table)
    for warning in result.warnings:
        err.print(Text.assemble(("warning: ", "yellow"), warning), soft_wrap=True)
    health = f", health {result.health.status}" if result.health else ""
    colour = "green" if result.phase is OperationPhase.succeeded else "red"
    out.print(f"[{colour}]{result.phase}[/{colour}]{health}: ", end="", markup=True, highlight=False)
    out.print(
        f"{result.message} ({result.seconds:.1f}s, {result.writes} writes)", markup=False, highlight=False
    )
