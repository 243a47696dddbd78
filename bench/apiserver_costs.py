"""What each kind of request the controller sends costs the cluster, side by side.

On a cluster of its own, the same 4 x SETS objects (bench/workload.py) are
sent as: server-side apply dry runs, POST (create) dry runs, real
server-side applies, dry runs again (now of existing objects); plus, per
set, an Application created by server-side apply, a merge patch of its
status shaped as the controller writes it, and an Event. For each, the cluster's
processes' CPU (apiserver, etcd, controllers, kwok; idle use subtracted)
and the wall time at the given concurrency are printed, repeated --rounds
times, medians quoted. It answers "which of our requests is worth saving".

Usage: uv run python bench/apiserver_costs.py [--sets 1000] [--rounds 3] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import workload
from observe import cluster_cpu_seconds

from controller import application
from gitward.install.crds import crds
from gitward.kube.connection import Connection
from gitward.local import cluster
from gitward.model.content_types import APPLY_PATCH, MERGE_PATCH

PATHS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
}


def objects(sets: int, namespace: str) -> list[dict[str, Any]]:
    out = []
    for i in range(sets):
        for doc in workload.documents(f"s-{i:04d}", i):
            doc["metadata"]["namespace"] = namespace
            out.append(doc)
    return out


def path(obj: dict[str, Any], named: bool) -> str:
    base = PATHS[obj["kind"]].format(ns=obj["metadata"]["namespace"])
    return f"{base}/{obj['metadata']['name']}" if named else base


async def ssa(connection: Connection, obj: dict[str, Any], dry: bool) -> None:
    params = {"fieldManager": "bench", "force": "true", "fieldValidation": "Strict"}
    if dry:
        params["dryRun"] = "All"
    await connection.request("PATCH", path(obj, True), params=params, body=obj, content_type=APPLY_PATCH)


async def post(connection: Connection, obj: dict[str, Any], dry: bool) -> None:
    params = {"fieldManager": "bench", "fieldValidation": "Strict"}
    if dry:
        params["dryRun"] = "All"
    await connection.request("POST", path(obj, False), params=params, body=obj)


def status(i: int, namespace: str) -> dict[str, Any]:
    """An Application's status after one automated sync, shaped as the controller writes it."""
    revision = f"{i:040d}"
    source = {"repoURL": "git://127.0.0.1/bench", "path": f"apps/app-{i:04d}", "targetRevision": "HEAD"}
    kinds = [
        ("", "v1", "ServiceAccount"),
        ("", "v1", "ConfigMap"),
        ("", "v1", "Service"),
        ("apps", "v1", "Deployment"),
    ]
    keys = [
        {"group": g, "version": v, "kind": k, "namespace": namespace, "name": f"s-{i:04d}"}
        for g, v, k in kinds
    ]
    now = "2026-11-30T21:00:00Z"
    return {
        "sync": {
            "status": "Synced",
            "revision": revision,
            "comparedTo": {
                "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
                "source": source,
            },
        },
        "health": {"status": "Healthy"},
        "resources": [{**k, "status": "Synced", "health": {"status": "Healthy"}} for k in keys],
        "history": [
            {"id": 0, "revision": revision, "deployedAt": now, "deployStartedAt": now, "source": source}
        ],
        "operationState": {
            "operation": {
                "sync": {"revision": revision, "prune": True},
                "initiatedBy": {"automated": True},
                "retry": {},
            },
            "phase": "Succeeded",
            "message": "successfully synced (all tasks run)",
            "startedAt": now,
            "finishedAt": now,
            "syncResult": {
                "revision": revision,
                "source": source,
                "resources": [
                    {**k, "status": "Synced", "message": "created", "syncPhase": "Sync"} for k in keys
                ],
            },
        },
        "reconciledAt": now,
    }


def event(namespace: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": "bench-", "namespace": namespace},
        "involvedObject": {"kind": "ConfigMap", "name": f"s-{i:04d}", "namespace": namespace},
        "reason": "Bench",
        "message": "a bench event",
        "type": "Normal",
        "source": {"component": "bench"},
    }


Calls = list[Callable[[], Awaitable[Any]]]


async def run_all(calls: Calls, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(call: Callable[[], Awaitable[Any]]) -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one(c) for c in calls))


def mixes(connection: Connection, namespace: str, sets: int) -> list[tuple[str, Calls]]:
    """Each kind of request, one list of calls each, in the order they are timed."""
    objs = objects(sets, namespace)
    apps_path = f"/apis/gitward.dev/v1alpha1/namespaces/{namespace}/applications"
    apps = [application(f"a-{i:04d}", i, "git://127.0.0.1/bench", namespace) for i in range(sets)]
    for app in apps:
        app["metadata"]["namespace"] = namespace

    return [
        ("ssa dry run (new)", [functools.partial(ssa, connection, o, True) for o in objs]),
        ("post dry run (new)", [functools.partial(post, connection, o, True) for o in objs]),
        ("ssa create", [functools.partial(ssa, connection, o, False) for o in objs]),
        ("ssa dry run (exists)", [functools.partial(ssa, connection, o, True) for o in objs]),
        (
            "application ssa create (1/set)",
            [
                functools.partial(
                    connection.request,
                    "PATCH",
                    f"{apps_path}/{a['metadata']['name']}",
                    params={"fieldManager": "kubectl", "force": "true"},
                    body=a,
                    content_type=APPLY_PATCH,
                )
                for a in apps
            ],
        ),
        (
            "application status merge patch (1/set)",
            [
                functools.partial(
                    connection.request,
                    "PATCH",
                    f"{apps_path}/a-{i:04d}/status",
                    params={"fieldManager": "gitward"},
                    body={"status": status(i, namespace)},
                    content_type=MERGE_PATCH,
                )
                for i in range(sets)
            ],
        ),
        (
            "event post (1/set)",
            [
                functools.partial(
                    connection.request,
                    "POST",
                    f"/api/v1/namespaces/{namespace}/events",
                    body=event(namespace, i),
                )
                for i in range(sets)
            ],
        ),
    ]


async def measure(args: argparse.Namespace, connection: Connection) -> None:
    idle_before, t0 = cluster_cpu_seconds(args.name), time.perf_counter()
    await asyncio.sleep(10)
    idle_rate = (cluster_cpu_seconds(args.name) - idle_before) / (time.perf_counter() - t0)
    for manifest in crds():
        await connection.request(
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{manifest['metadata']['name']}",
            params={"fieldManager": "bench", "force": "true"},
            body=manifest,
            content_type=APPLY_PATCH,
        )
    await asyncio.sleep(5)
    print(f"idle cluster CPU: {idle_rate:.3f} s/s", flush=True)
    results: dict[str, list[tuple[float, float]]] = {}
    for round_ in range(args.rounds):
        namespace = f"c{round_}-{secrets.token_hex(2)}"
        await connection.request(
            "POST",
            "/api/v1/namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        )
        for label, calls in mixes(connection, namespace, args.sets):
            await asyncio.sleep(2)
            cpu, started = cluster_cpu_seconds(args.name), time.perf_counter()
            await run_all(calls, args.concurrency)
            wall = time.perf_counter() - started
            await asyncio.sleep(1)  # watch fan-out and controllers catch up
            used = cluster_cpu_seconds(args.name) - cpu - idle_rate * (time.perf_counter() - started)
            results.setdefault(label, []).append((used, wall))
            print(
                f"round {round_ + 1} {label}: {len(calls)} requests, "
                f"cluster CPU {used:.2f}s, wall {wall:.2f}s",
                flush=True,
            )
    print("medians:")
    for label, values in results.items():
        cpu = statistics.median(v[0] for v in values)
        wall = statistics.median(v[1] for v in values)
        print(f"  {label}: cluster CPU {cpu:.2f}s, wall {wall:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--name", default=f"bench-costs-{secrets.token_hex(3)}")
    args = parser.parse_args()
    state = cluster.up(args.name)
    try:

        async def run() -> None:
            async with Connection.from_kubeconfig(state.layout.kubeconfig) as connection:
                await measure(args, connection)

        asyncio.run(run())
    finally:
        cluster.down(args.name)


if __name__ == "__main__":
    main()
