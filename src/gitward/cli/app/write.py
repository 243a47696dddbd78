"""`gitward app create|sync|rollback|delete`: requests written to the Application, as Argo CD's CLI does.

A sync or rollback is one JSON merge patch of the app's `operation` (and the
automation-paused annotation), carrying the resourceVersion read just before,
so two people syncing at once cannot overwrite each other's request: the
second is told the app changed meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from gitward.cli.app import view
from gitward.cli.app.api import (
    BAD_INPUT,
    OK,
    Apps,
    CliError,
    Name,
    Target,
    run,
    user,
    with_target,
)
from gitward.cli.app.progress import WaitFor, follow
from gitward.cli.output import fail
from gitward.engine import options as sync_options
from gitward.model import requests
from gitward.model.operation import PAUSE_ANNOTATION
from gitward.model.sync import SyncSpecError

Async = Annotated[bool, typer.Option("--async", help="Return once the request is written; do not wait.")]
Timeout = Annotated[float, typer.Option(min=0, help="Give up waiting after this many seconds; 0: never.")]
Prune = Annotated[bool, typer.Option("--prune", help="Delete the app's objects Git no longer declares.")]


def _resource(text: str) -> dict[str, str]:
    """GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME (GROUP empty for the core group), as Argo CD takes it."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        fail(f"--resource {text!r}: expected GROUP:KIND:NAME or GROUP:KIND:NAMESPACE/NAME", BAD_INPUT)
    group, kind, rest = parts
    namespace, _, name = rest.rpartition("/")
    if not name:
        fail(f"--resource {text!r}: the name is empty", BAD_INPUT)
    found = {"group": group, "kind": kind, "name": name}
    if namespace:
        found["namespace"] = namespace
    return found


@with_target
def sync(
    name: Name,
    prune: Prune = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and compare only; write nothing.")
    ] = False,
    resource: Annotated[
        list[str] | None,
        typer.Option(
            "--resource", help="Only this object: GROUP:KIND:NAME or GROUP:KIND:NS/NAME (repeatable)."
        ),
    ] = None,
    revision: Annotated[
        str, typer.Option("--revision", help="Deploy this revision instead of the target.")
    ] = "",
    sync_option: Annotated[
        list[str] | None, typer.Option("--sync-option", help="e.g. Replace=true (repeatable).")
    ] = None,
    run_async: Async = False,
    timeout: Timeout = 0,
    *,
    target: Target,
) -> None:
    """Sync an app now (and resume automated sync after a rollback); wait for the result.

    Exit 0 synced and Healthy; 1 the sync failed, the app is Degraded or --timeout ran out; 2 bad input.
    """
    try:
        sync_options.parse(sync_option or (), where="--sync-option")
    except SyncSpecError as problem:
        fail(str(problem), BAD_INPUT)
    patch = requests.sync_patch(
        user(),
        prune=prune,
        dry_run=dry_run,
        revision=revision,
        resources=[_resource(r) for r in resource or ()],
        sync_options=sync_option,
    )
    # A partial sync, another revision or a dry run leaves the app OutOfSync on purpose.
    whole = not (dry_run or resource or revision)
    want = WaitFor(requested=True, sync=whole, health=not dry_run)

    async def work(api: Apps) -> int:
        app = await api.get(name)
        before = _refuse_if_busy(app)
        await api.patch(name, requests.if_unchanged(app, patch))
        return await _after_request(
            api, name, f"sync of '{name}' requested", want, before, run_async, timeout
        )

    raise SystemExit(run(target, work))


@with_target
def rollback(
    name: Name,
    history_id: Annotated[
        int | None,
        typer.Argument(metavar="ID", help="History ID (default: the deployment before the last)."),
    ] = None,
    prune: Prune = False,
    run_async: Async = False,
    timeout: Timeout = 0,
    *,
    target: Target,
) -> None:
    """Redeploy an earlier revision from the app's history and pause automated sync.

    Automation stays paused (so the rollback is not undone at once) until `gitward app sync NAME`.
    """

    async def work(api: Apps) -> int:
        app = await api.get(name)
        try:
            patch = requests.rollback_patch(app, history_id, user(), prune=prune)
        except requests.RequestError as problem:
            raise CliError(f"application '{name}': {problem}", BAD_INPUT) from None
        before = _refuse_if_busy(app)
        await api.patch(name, requests.if_unchanged(app, patch))
        # The pause says where the app went: "rollback to history ID (revision)".
        said = f"'{name}': {patch['metadata']['annotations'][PAUSE_ANNOTATION]} requested; automation paused"
        # Against its target revision the app is OutOfSync after a rollback: that is expected.
        want = WaitFor(requested=True, health=True)
        return await _after_request(api, name, said, want, before, run_async, timeout)

    raise SystemExit(run(target, work))


def _refuse_if_busy(app: Mapping[str, Any]) -> Mapping[str, Any]:
    """The current operationState; an operation already requested or running is not replaced."""
    reason = requests.busy(app)
    if reason:
        raise CliError(f"application '{app['metadata']['name']}': {reason}")
    state: Mapping[str, Any] = view.status(app).get("operationState") or {}
    return state


async def _after_request(
    api: Apps, name: str, said: str, want: WaitFor, before: Mapping[str, Any], run_async: bool, timeout: float
) -> int:
    print(said, file=sys.stderr)
    if run_async:
        return OK
    return await follow(api, name, WaitFor(want.sync, want.health, want.operation, True, before), timeout)


@with_target
def delete(
    name: Name,
    cascade: Annotated[
        bool, typer.Option("--cascade/--no-cascade", help="Also delete every object the app deployed.")
    ] = True,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait until the app (and its objects) are gone.")
    ] = False,
    timeout: Timeout = 0,
    *,
    target: Target,
) -> None:
    """Delete an application; by default (cascade) the controller deletes its objects first."""
    if not yes:
        if not sys.stdin.isatty():
            fail("refusing to delete without confirmation: add -y", BAD_INPUT)
        what = "and every object it deployed" if cascade else "(its objects stay)"
        if not typer.confirm(f"Delete application '{name}' {what}?"):
            raise SystemExit(BAD_INPUT)

    async def work(api: Apps) -> int:
        app = await api.get(name)
        patch = requests.finalizer_patch(app, cascade, target.resource)
        if patch is not None:
            await api.patch(name, patch)
        await api.delete(name)
        print(f"application '{name}' deleted" + (" (with its objects)" if cascade else ""), file=sys.stderr)
        return await _gone(api, name, timeout) if wait else OK

    raise SystemExit(run(target, work))


async def _gone(api: Apps, name: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout if timeout else None
    while await api.find(name) is not None:
        if deadline is not None and time.monotonic() >= deadline:
            raise CliError(
                f"application '{name}' still exists after {timeout:g}s (is the controller running?)"
            )
        await asyncio.sleep(0.5)
    return OK
