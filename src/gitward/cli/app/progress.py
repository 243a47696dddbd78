"""Waiting for an Application, with a live view: `gitward app wait`, and `sync`/`rollback` without --async.

The verdict is read from the app's status as the controller writes it, never
guessed: an operation we asked for counts as done only once the controller
has cleared `operation` and written an operationState other than the one
that was there before; "Synced" counts only when the status was compared
against the spec as it is now.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.live import Live
from rich.text import Text

from gitward.cli.app import view
from gitward.cli.app.api import (
    FAILED,
    OK,
    Apps,
    Name,
    Target,
    run,
    with_target,
)
from gitward.cli.output import err
from gitward.model.health import HealthStatus
from gitward.model.status import OperationPhase, SyncStatusCode

POLL_SECONDS = 0.5
_BAD_PHASES = (OperationPhase.failed, OperationPhase.error)
# The phases of an operation still at work.
_WORKING = (OperationPhase.running, OperationPhase.terminating)


class State(enum.Enum):
    waiting = "waiting"
    done = "done"
    failed = "failed"


@dataclass(frozen=True)
class WaitFor:
    sync: bool = False
    health: bool = False
    operation: bool = False
    # Set when this command requested an operation: the operationState that was there before it.
    requested: bool = False
    before: Mapping[str, Any] | None = None

    def describe(self) -> str:
        wanted = [w for w, on in (("sync", self.sync), ("health", self.health)) if on]
        if self.operation or self.requested:
            wanted.insert(0, "the operation")
        return " and ".join(wanted) or "nothing"


def verdict(app: Mapping[str, Any], want: WaitFor) -> tuple[State, str]:
    """Where `app` stands against what we wait for: done, failed (with why), or still waiting (on what)."""
    state = view.status(app).get("operationState") or {}
    phase = str(state.get("phase", ""))
    pending = bool(app.get("operation"))
    if want.requested:
        if pending or state == (want.before or {}):
            return State.waiting, "waiting for the controller to start the operation"
        if phase in _WORKING:
            return State.waiting, f"operation {phase}: {state.get('message', '')}".rstrip(": ")
        if phase in _BAD_PHASES:
            return State.failed, f"operation {phase}: {state.get('message', '')}"
    if want.operation:
        if pending or phase in _WORKING:
            return State.waiting, "operation in progress"
        if phase in _BAD_PHASES:
            return State.failed, f"the last operation {phase}: {state.get('message', '')}"
    if want.sync:
        if not _compared_to_spec(app):
            return State.waiting, "waiting for the controller to compare the current spec"
        if view.sync_status(app) != SyncStatusCode.synced:
            return State.waiting, f"sync status {view.sync_status(app)}"
    if want.health:
        health = view.health_status(app)
        if health == HealthStatus.degraded:
            message = (view.status(app).get("health") or {}).get("message") or ""
            return State.failed, f"health Degraded{': ' + message if message else ''}"
        if health != HealthStatus.healthy:
            return State.waiting, f"health {health}"
    return State.done, ""


def _compared_to_spec(app: Mapping[str, Any]) -> bool:
    """Status was computed from today's spec (a spec edited since would make "Synced" stale)."""
    sync = view.status(app).get("sync") or {}
    if not sync:
        return False
    compared = sync.get("comparedTo")
    if not isinstance(compared, Mapping):
        return True  # an older controller does not say; trust the status it wrote
    spec = app.get("spec") or {}
    same_source = compared.get("sources", compared.get("source")) == spec.get("sources", spec.get("source"))
    return bool(
        same_source and compared.get("destination", spec.get("destination")) == spec.get("destination")
    )


async def follow(apps: Apps, name: str, want: WaitFor, timeout: float) -> int:
    """Poll the app and show it live until `want` is met (0), fails or times out (1)."""
    started = time.monotonic()
    app = await apps.get(name)
    with Live(_frame(app, State.waiting, "", 0.0), console=view.console(), auto_refresh=False) as live:
        while True:
            state, why = verdict(app, want)
            elapsed = time.monotonic() - started
            live.update(_frame(app, state, why, elapsed), refresh=True)
            if state is State.done:
                return OK
            if state is State.failed:
                err.print(Text.assemble(("gitward: ", "red"), f"{name}: {why}"), soft_wrap=True)
                return FAILED
            if timeout and elapsed >= timeout:
                err.print(
                    Text.assemble(
                        ("gitward: ", "red"),
                        f"{name}: timed out after {timeout:g}s waiting for {want.describe()} ({why})",
                    ),
                    soft_wrap=True,
                )
                return FAILED
            await asyncio.sleep(POLL_SECONDS)
            app = await apps.get(name)


def _frame(app: Mapping[str, Any], state: State, why: str, elapsed: float) -> RenderableType:
    operation = view.status(app).get("operationState") or {}
    phase = str(operation.get("phase", "")) or "-"
    head = Text.assemble(
        (app["metadata"]["name"], "bold"),
        "  operation ",
        view.word(phase),
        "  sync ",
        view.word(view.sync_status(app)),
        "  health ",
        view.word(view.health_status(app)),
        f"  {elapsed:.0f}s",
    )
    message = str(operation.get("message", ""))
    lines: list[RenderableType] = [head]
    if message:
        lines.append(Text(f"message: {message}", style="dim"))
    if state is State.waiting and why:
        lines.append(Text(f"… {why}", style="dim"))
    if view.paused(app):
        lines.append(Text(f"automation paused: {view.paused(app)}", style="yellow"))
    lines.append(view.resources(app))
    return Group(*lines)


@with_target
def wait(
    name: Name,
    sync: Annotated[bool, typer.Option("--sync", help="Wait until Synced.")] = False,
    health: Annotated[bool, typer.Option("--health", help="Wait until Healthy (Degraded fails).")] = False,
    operation: Annotated[bool, typer.Option("--operation", help="Wait until no operation runs.")] = False,
    timeout: Annotated[float, typer.Option(min=0, help="Give up after this many seconds; 0: never.")] = 0,
    *,
    target: Target,
) -> None:
    """Wait for an app to be synced, healthy and done operating (all three unless some are chosen).

    Exit 0 when it is; 1 when its operation failed, it turned Degraded, or --timeout ran out.
    """
    if not (sync or health or operation):
        sync = health = operation = True
    want = WaitFor(sync=sync, health=health, operation=operation)
    raise SystemExit(run(target, lambda apps: follow(apps, name, want, timeout)))
