"""Waiting on the cluster: a wave's health, a hook's completion, a deleted object's disappearance.

Each wait re-reads the objects from the apiserver (one GET each per round,
only for those not settled yet) and backs off from 0.25 s to 2 s between
rounds, so a wave of fast objects finishes quickly and a slow rollout does
not turn into a request storm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitward.engine.health import workload_pods
from gitward.engine.health.assess import HealthRules, assess
from gitward.kube import KubeError, Writer
from gitward.model.health import Health, HealthStatus
from gitward.model.resource import ResourceKey

FIRST_PAUSE, LONGEST_PAUSE = 0.25, 2.0
# Settled: the next wave may start. Missing/Progressing/Unknown are waited on.
SETTLED = frozenset({HealthStatus.healthy, HealthStatus.suspended})

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Verdict:
    key: ResourceKey
    health: Health | None
    # The object as last read (None once it is gone).
    live: Mapping[str, Any] | None


async def read(writer: Writer, obj: Mapping[str, Any]) -> dict[str, Any] | None:
    key = ResourceKey.of(obj)
    return await writer.get(str(obj.get("apiVersion")), key.kind, key.name, key.namespace)


def judge(obj: Mapping[str, Any] | None, rules: HealthRules | None) -> Health | None:
    if obj is None:
        return Health(HealthStatus.missing, "not found in the cluster")
    return assess(obj, rules)


async def wait_healthy(
    writer: Writer,
    current: Sequence[Mapping[str, Any]],
    *,
    timeout: float,
    rules: HealthRules | None = None,
    progress: Progress | None = None,
    concurrency: int = 20,
) -> list[Verdict]:
    """Until every object is Healthy or Suspended (or has no health), one is Degraded, or `timeout`.

    `current` holds the objects as last seen (an apply's answer); kinds
    without health never cost a request. The verdicts say where each ended.
    """
    verdicts = {ResourceKey.of(o): Verdict(ResourceKey.of(o), judge(o, rules), o) for o in current}
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    limit = asyncio.Semaphore(concurrency)

    async def refresh(verdict: Verdict) -> Verdict:
        if verdict.live is None:  # gone already; nothing to re-read
            return verdict
        async with limit:
            try:
                live = await read(writer, verdict.live)
            except KubeError as exc:
                if not exc.transient:
                    raise
                # No answer this round (see wait_finished): as last seen, still waited on until the deadline.
                return verdict
        return Verdict(verdict.key, judge(live, rules), live or verdict.live)

    while True:
        waiting = [v for v in verdicts.values() if v.health is not None and v.health.status not in SETTLED]
        failed = any(v.health.status is HealthStatus.degraded for v in waiting if v.health)
        if not waiting or failed or time.monotonic() >= deadline:
            # A workload that did not settle is explained by its pods (an image that cannot be pulled).
            return list(await asyncio.gather(*(_explain(writer, v) for v in verdicts.values())))
        if progress is not None:
            first = waiting[0]
            more = f" (and {len(waiting) - 1} more)" if len(waiting) > 1 else ""
            message = first.health.message if first.health else ""
            progress(
                f"waiting for {first.key}: {first.health.status if first.health else ''} {message}{more}"
            )
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, LONGEST_PAUSE)
        for verdict in await asyncio.gather(*(refresh(v) for v in waiting)):
            verdicts[verdict.key] = verdict


async def _explain(writer: Writer, verdict: Verdict) -> Verdict:
    health = await workload_pods.explained(writer, verdict.live, verdict.health)
    return verdict if health is verdict.health else Verdict(verdict.key, health, verdict.live)


async def wait_gone(writer: Writer, obj: Mapping[str, Any], *, uid: str | None, timeout: float) -> bool:
    """Whether the object (that very uid, when given) disappeared within `timeout`."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE / 2
    while True:
        live: Mapping[str, Any] | None
        try:
            live = await read(writer, obj)
        except KubeError:
            live = obj  # unreachable for a moment: keep waiting rather than claim it is gone
        meta = live.get("metadata") if live is not None else None
        if live is None or (uid is not None and isinstance(meta, Mapping) and meta.get("uid") != uid):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)


async def wait_finished(
    writer: Writer, obj: Mapping[str, Any], *, timeout: float, progress: Progress | None = None
) -> tuple[bool | None, str]:
    """A hook's outcome: (True, "") done, (False, reason) failed, (None, reason) still running at `timeout`.

    A Job is done when Complete and failed when Failed; a Pod when it
    Succeeded or Failed; a kind without health is done once it exists.
    """
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    key = ResourceKey.of(obj)
    while True:
        try:
            live = await read(writer, obj)
        except KubeError as exc:
            if not exc.transient:
                raise
            # The apiserver did not answer (restarting, its etcd away). That says nothing about the
            # hook, which runs on: failing the sync for it would make the retry run the hook again.
            if time.monotonic() >= deadline:
                return None, f"did not finish within {timeout:g}s (the apiserver did not answer: {exc})"
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
            continue
        if live is None:
            return False, "deleted before it finished"
        health = assess(live)
        if health is None or health.status is HealthStatus.healthy:
            return True, health.message if health else ""
        if health.status is HealthStatus.degraded:
            return False, health.message or "failed"
        if time.monotonic() >= deadline:
            return None, f"did not finish within {timeout:g}s ({health.status}: {health.message})"
        if progress is not None:
            progress(f"hook {key}: {health.status} {health.message}".rstrip())
        await asyncio.sleep(pause)
        pause = min(pause * 2, LONGEST_PAUSE)
