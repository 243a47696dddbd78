"""Desired vs live through a server-side dry run, against the real local cluster."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from gitward.engine import tracking
from gitward.engine.diff.compare import (
    ClusterLive,
    Comparer,
    Comparison,
    WatchedLive,
    with_namespace,
)
from gitward.engine.diff.ignore import load_rules
from gitward.engine.diff.normalize import normalize
from gitward.kube import Connection, Discovery, WatchCache, Writer
from gitward.model.resource import ResourceKey
from gitward.model.status import SyncStatusCode
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster

APP = "shop"


@pytest.fixture
async def connection(cluster: Cluster) -> AsyncIterator[Connection]:
    async with Connection.from_kubeconfig(cluster.kubeconfig) as conn:
        yield conn


@pytest.fixture
def writer(connection: Connection) -> Writer:
    return Writer(connection, Discovery(connection, min_refresh=0.5))


@pytest.fixture
def comparer(writer: Writer) -> Comparer:
    return Comparer(writer, ClusterLive(writer))


def deployment(
    namespace: str, image: str = "registry.example/web:1", cpu: Any = "500m", replicas: int = 2
) -> dict[str, Any]:
    """What a user writes: no strategy, no probes' defaults, no imagePullPolicy."""
    labels = {"app": "web"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": image,
                            "ports": [{"containerPort": 80}],
                            "resources": {"limits": {"cpu": cpu, "memory": "512Mi"}},
                        }
                    ]
                },
            },
        },
    }


def service(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 80}]},
    }


def secret(namespace: str, password: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": namespace},
        "data": {"password": base64.b64encode(password.encode()).decode(), "user": "YWRtaW4="},
    }


def changed_lines(diff: str) -> list[str]:
    """The +/- lines of a unified diff, without its two file headers."""
    return [
        line.rstrip("\n")
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    ]


async def deploy(writer: Writer, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        await writer.apply(tracking.stamp(obj, APP))


def only(results: list[Comparison], kind: str) -> Comparison:
    (found,) = [r for r in results if r.key.kind == kind]
    return found


async def test_no_diff_right_after_applying(namespace: str, writer: Writer, comparer: Comparer) -> None:
    objects = [deployment(namespace), service(namespace), secret(namespace, "s3cret-pass")]
    await deploy(writer, objects)

    results = await comparer.compare_all(objects, app=APP)

    assert [(r.key.kind, r.status, r.diff, r.error) for r in results] == [
        ("Deployment", SyncStatusCode.synced, "", None),
        ("Service", SyncStatusCode.synced, "", None),
        ("Secret", SyncStatusCode.synced, "", None),
    ]


async def test_defaults_and_quantity_spelling_are_not_drift(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [deployment(namespace, cpu="500m")])
    # The same intent spelled differently: 0.5 CPU as a number, as a YAML author might write it.
    desired = tracking.stamp(deployment(namespace, cpu=0.5), APP)

    (result,) = await comparer.compare_all([desired])

    assert (result.status, result.diff, result.error) == (SyncStatusCode.synced, "", None)
    # Compared naively, the server's defaults would all look like drift.
    live = cluster.get_json("deployment", "web", "-n", namespace)
    assert normalize(live)["spec"] != desired["spec"]
    assert live["spec"]["strategy"]["type"] == "RollingUpdate"


async def test_list_items_other_managers_inserted_are_kept_as_a_sync_would_keep_them(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    desired = deployment(namespace)
    desired["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
    ]
    await deploy(writer, [desired])
    debug = {
        "op": "add",
        "path": "/spec/template/spec/containers/0/env/0",
        "value": {"name": "DEBUG", "value": "1"},
    }
    cluster.kubectl("patch", "deployment", "web", "-n", namespace, "--type=json", "-p", json.dumps([debug]))

    (result,) = await comparer.compare_all([desired], app=APP)

    assert (result.status, result.diff, result.error) == (SyncStatusCode.synced, "", None)
    # Compared naively, the list would differ in length and order.
    live = cluster.get_json("deployment", "web", "-n", namespace)
    assert [e["name"] for e in live["spec"]["template"]["spec"]["containers"][0]["env"]] == [
        "DEBUG",
        "A",
        "B",
    ]


async def test_a_kubectl_patch_shows_exactly_that_field(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [deployment(namespace), service(namespace)])
    cluster.kubectl(
        "patch",
        "deployment",
        "web",
        "-n",
        namespace,
        "--type=json",
        "-p",
        json.dumps([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil:6"}]),
    )

    results = await comparer.compare_all([deployment(namespace), service(namespace)], app=APP)

    changed = only(results, "Deployment")
    assert changed.status == SyncStatusCode.out_of_sync
    assert not changed.would_create
    assert changed_lines(changed.diff) == ["-      - image: evil:6", "+      - image: registry.example/web:1"]
    assert only(results, "Service").status == SyncStatusCode.synced


async def test_kubectl_scale_shows_replicas(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [deployment(namespace)])
    cluster.kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=5")

    (result,) = await comparer.compare_all([deployment(namespace)], app=APP)

    assert changed_lines(result.diff) == ["-  replicas: 5", "+  replicas: 2"]


async def test_a_desired_object_without_its_tracking_id_shows_the_annotation_removed(
    namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [service(namespace)])

    (unstamped,) = await comparer.compare_all([service(namespace)])

    assert changed_lines(unstamped.diff) == [
        "-  annotations:",
        f"-    gitward.dev/tracking-id: {APP}:/Service:{namespace}/web",
    ]


async def test_a_missing_object_would_be_created_with_the_server_defaults(
    namespace: str, comparer: Comparer
) -> None:
    (result,) = await comparer.compare_all([deployment(namespace)], app=APP)

    assert (result.status, result.would_create) == (SyncStatusCode.out_of_sync, True)
    lines = changed_lines(result.diff)
    assert all(line.startswith("+") for line in lines)
    assert f"+    gitward.dev/tracking-id: {APP}:apps/Deployment:{namespace}/web" in lines
    assert "+  revisionHistoryLimit: 10" in lines  # the dry run's defaults, not just what Git says


async def test_an_object_in_a_namespace_still_to_be_created_is_a_would_create(comparer: Comparer) -> None:
    (result,) = await comparer.compare_all([service("nowhere-yet")], app=APP)

    assert (result.status, result.would_create, result.error) == (SyncStatusCode.out_of_sync, True, None)


async def test_an_invalid_object_is_an_error_naming_the_field_and_the_rest_is_compared(
    namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [service(namespace)])
    bad = deployment(namespace)
    bad["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "Always"

    results = await comparer.compare_all([bad, service(namespace)], app=APP)

    broken = only(results, "Deployment")
    assert broken.status is None
    assert broken.error is not None
    assert "imagePolicy" in broken.error
    assert only(results, "Service").status == SyncStatusCode.synced


async def test_secret_values_are_masked_in_every_diff(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    old, new = "old-hunter2-pass", "new-hunter3-pass"
    # kubectl's client-side apply keeps the whole Secret, in clear text, in an annotation.
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(tracking.stamp(secret(namespace, old), APP)))
    other = secret(namespace, new)
    other["metadata"]["name"] = "fresh"

    results = await comparer.compare_all([secret(namespace, new), other], app=APP)

    changed = next(r for r in results if r.key.name == "db")
    created = next(r for r in results if r.key.name == "fresh")
    assert changed.status == SyncStatusCode.out_of_sync
    assert created.would_create
    for result in (changed, created):
        for value in (old, new):
            assert value not in result.diff
            assert base64.b64encode(value.encode()).decode() not in result.diff
        assert "YWRtaW4=" not in result.diff
    removed, added = changed_lines(changed.diff)
    assert re.fullmatch(r"-  password: \+{8,}", removed)
    assert re.fullmatch(r"\+  password: \+{8,}", added)
    assert removed[1:] != added[1:]  # a change stays visible


async def test_ignore_differences_by_json_pointer_jq_and_manager(
    cluster: Cluster, namespace: str, writer: Writer, comparer: Comparer
) -> None:
    await deploy(writer, [deployment(namespace)])
    cluster.kubectl("scale", "deployment", "web", "-n", namespace, "--replicas=4")
    cluster.kubectl(
        "patch",
        "deployment",
        "web",
        "-n",
        namespace,
        "--type=json",
        "-p",
        json.dumps([{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "evil:6"}]),
    )
    desired = [deployment(namespace)]

    async def diff_with(*rules: dict[str, Any]) -> list[str]:
        (result,) = await comparer.compare_all(desired, load_rules(rules), app=APP)
        return changed_lines(result.diff)

    assert await diff_with() == [
        "-  replicas: 4",
        "+  replicas: 2",
        "-      - image: evil:6",
        "+      - image: registry.example/web:1",
    ]
    by_pointer = {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
    assert await diff_with(by_pointer) == ["-      - image: evil:6", "+      - image: registry.example/web:1"]
    by_jq = {
        "group": "apps",
        "kind": "Deployment",
        "jqPathExpressions": ['.spec.template.spec.containers[] | select(.name == "app").image'],
    }
    assert await diff_with(by_jq) == ["-  replicas: 4", "+  replicas: 2"]
    # `kubectl scale` writes as manager "kubectl"; the image belongs to "kubectl-patch", still shown.
    by_manager = {"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl"]}
    assert await diff_with(by_manager) == ["-      - image: evil:6", "+      - image: registry.example/web:1"]
    assert await diff_with(by_pointer, by_jq) == []
    other_name = {**by_pointer, "name": "api"}
    assert len(await diff_with(other_name)) == 4


async def test_an_unchanged_object_costs_no_request_the_second_time(
    cluster: Cluster, namespace: str, connection: Connection, writer: Writer
) -> None:
    watch = WatchCache(connection, writer.discovery)
    comparer = Comparer(writer, WatchedLive(watch))
    # No pods, so no status churn from pods coming and going while we count.
    objects = [deployment(namespace, replicas=0), service(namespace), secret(namespace, "cache-pass")]
    await deploy(writer, objects)
    try:
        await watch.ensure_all((o["apiVersion"], o["kind"]) for o in objects)
        first = await comparer.compare_all(objects, app=APP)
        assert {r.status for r in first} == {SyncStatusCode.synced}
        # Status writes bump the resourceVersion too (one more dry run each): measure once they stop.
        await settled(cluster, watch, namespace)
        await comparer.compare_all(objects, app=APP)
        sent = dict(connection.requests)
        runs = comparer.dry_runs

        again = await comparer.compare_all(objects, app=APP)

        assert [r.status for r in again] == [
            SyncStatusCode.synced,
            SyncStatusCode.synced,
            SyncStatusCode.synced,
        ]
        assert comparer.dry_runs == runs
        assert connection.requests == sent

        image = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "evil:6"}]}}}}
        cluster.kubectl("patch", "deployment", "web", "-n", namespace, "-p", json.dumps(image))
        await settled(cluster, watch, namespace)
        after = await comparer.compare_all(objects, app=APP)
        assert [r.status for r in after] == [
            SyncStatusCode.out_of_sync,
            SyncStatusCode.synced,
            SyncStatusCode.synced,
        ]
        assert comparer.dry_runs == runs + 1  # only the object that changed
    finally:
        await watch.aclose()


async def settled(cluster: Cluster, watch: WatchCache, namespace: str) -> None:
    """Wait until the Deployment stopped changing for a second and the watch holds its latest version.

    The reflector runs on this loop, so the wait is asyncio's, never a blocking sleep.
    """
    key = ResourceKey("apps", "Deployment", namespace, "web")
    seen, stable = "", 0
    for _ in range(300):
        current = cluster.get_json("deployment", "web", "-n", namespace)
        version = current["metadata"]["resourceVersion"]
        stable = stable + 1 if version == seen else 0
        seen = version
        live = watch.store.get(key)
        in_store = live is not None and live["metadata"]["resourceVersion"] == version
        if in_store and stable >= 5:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the Deployment kept changing, or the watch lags: {stable=} {in_store=}")


def crd(group: str, scope: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gizmos.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": "Gizmo", "plural": "gizmos", "singular": "gizmo", "listKind": "GizmoList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


async def test_the_destination_namespace_goes_only_on_namespaced_kinds(writer: Writer) -> None:
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "elsewhere"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}},
        crd("cluster.example.com", "Cluster"),
        crd("spaced.example.com", "Namespaced"),
        {"apiVersion": "cluster.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}},
        {"apiVersion": "spaced.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}},
    ]

    placed = await with_namespace(objects, "shop", writer.discovery)

    assert [o["metadata"].get("namespace") for o in placed] == [
        "shop",
        "elsewhere",
        None,
        None,
        None,
        None,
        "shop",
    ]
    assert "namespace" not in objects[0]["metadata"]  # the caller's objects are untouched


async def test_a_custom_resource_whose_crd_comes_in_the_same_set_would_be_created(
    namespace: str, comparer: Comparer
) -> None:
    group = f"g{namespace.removeprefix('t-')}.example.com"
    gizmo = {"apiVersion": f"{group}/v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": namespace}}
    lonely = {
        "apiVersion": "nowhere.example.com/v1",
        "kind": "Gizmo",
        "metadata": {"name": "g", "namespace": namespace},
    }

    results = await comparer.compare_all([crd(group, "Namespaced"), gizmo, lonely], app=APP)

    assert [(r.key.group, r.status, r.would_create) for r in results[:2]] == [
        ("apiextensions.k8s.io", SyncStatusCode.out_of_sync, True),
        (group, SyncStatusCode.out_of_sync, True),
    ]
    assert results[2].error == "the cluster serves no Gizmo in nowhere.example.com/v1"


class StaleLive:
    """A live source that is behind the cluster, as a lagging watch would be."""

    def __init__(self, copy: dict[str, Any]) -> None:
        self.copy = copy

    async def get(self, desired: Mapping[str, Any]) -> Mapping[str, Any] | None:
        return self.copy


async def test_a_stale_live_copy_is_fetched_again_rather_than_reported_as_drift(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    await deploy(writer, [service(namespace)])
    stale = cluster.get_json("service", "web", "-n", namespace)
    cluster.kubectl("annotate", "service", "web", "-n", namespace, "team=payments")
    comparer = Comparer(writer, StaleLive(stale))

    (result,) = await comparer.compare_all([service(namespace)], app=APP)

    # Against the stale copy, the new annotation (kept by a sync: not ours) would look like drift.
    assert (result.status, result.diff, result.error) == (SyncStatusCode.synced, "", None)
    assert comparer.refetches == 1


async def test_a_watched_comparison_right_after_our_own_write_waits_for_the_watch_to_show_it(
    namespace: str, connection: Connection, writer: Writer
) -> None:
    watch = WatchCache(connection, writer.discovery)
    comparer = Comparer(writer, WatchedLive(watch, writer.written, wait=5.0))
    impatient = Comparer(writer, WatchedLive(watch, writer.written, wait=0.2))
    first, second = (
        service(namespace),
        {**service(namespace), "metadata": {"name": "api", "namespace": namespace}},
    )
    reflector = await watch.ensure("v1", "Service")
    try:
        # The watch falls behind: from here on only this test puts objects in the store.
        await reflector.stop()
        loop = asyncio.get_running_loop()

        stored = await writer.apply(tracking.stamp(first, APP))
        comparer.applied(tracking.stamp(first, APP), stored)
        loop.call_later(0.3, watch.store.upsert, stored)  # the watch event, a moment late
        started = loop.time()
        (result,) = await comparer.compare_all([first], app=APP)

        assert (result.status, result.would_create) == (SyncStatusCode.synced, False)
        assert loop.time() - started >= 0.3
        assert ResourceKey.of(first) not in writer.written  # seen: later reads do not wait

        # A write the watch never shows is waited for only so long; then the store's view stands.
        await writer.apply(tracking.stamp(second, APP))
        started = loop.time()
        (result,) = await impatient.compare_all([second], app=APP)
        assert (result.status, result.would_create) == (SyncStatusCode.out_of_sync, True)
        assert 0.2 <= loop.time() - started < 2.0
    finally:
        await watch.aclose()
