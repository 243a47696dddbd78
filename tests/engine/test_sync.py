"""The sync engine against the real session cluster (controller-manager and kwok make things healthy)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gitward.engine.diff.applied import AppliedMemo
from gitward.engine.diff.compare import ClusterLive, Comparer, with_namespace
from gitward.engine.sync.operation import SyncRequest, sync
from gitward.engine.sync.result import SyncResult
from gitward.kube import Connection, Discovery, Writer
from gitward.model.health import HealthStatus
from gitward.model.status import OperationPhase, ResultCode, SyncStatusCode
from gitward.model.sync import SyncOptions
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster

WRITES = ("PATCH", "POST", "PUT", "DELETE")


@pytest.fixture
def writer(connection: Connection) -> Writer:
    return Writer(connection, Discovery(connection, min_refresh=0.5))


def deployment(name: str, image: str = "registry.example/guestbook:1", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80}]},
    }


def config_map(name: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "annotations": annotations},
        "data": {"k": name},
    }


def job(name: str, image: str = "registry.example/migrate:1", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": image}]},
            },
        },
    }


def by_name(result: SyncResult) -> dict[str, Any]:
    return {r.key.name: r for r in result.resources}


def writes(connection: Connection) -> dict[str, int]:
    return {m: n for m, n in connection.requests.items() if m in WRITES and n}


async def test_guestbook_becomes_healthy_and_a_second_sync_writes_nothing(
    cluster: Cluster, namespace: str, connection: Connection, writer: Writer
) -> None:
    objects = [deployment("guestbook"), service("guestbook")]
    request = SyncRequest(app=f"gb-{namespace}", objects=objects, namespace=namespace, timeout=120)
    memo = AppliedMemo()

    first = await sync(request, writer, memo=memo)

    assert first.phase is OperationPhase.succeeded, first.message
    assert first.health is not None and first.health.status is HealthStatus.healthy
    live = cluster.get_json("deployment", "guestbook", "-n", namespace)
    assert live["metadata"]["annotations"]["gitward.dev/tracking-id"] == (
        f"gb-{namespace}:apps/Deployment:{namespace}/guestbook"
    )
    assert live["status"]["availableReplicas"] == 2

    connection.requests.clear()
    second = await sync(request, writer, memo=memo)

    assert second.phase is OperationPhase.succeeded, second.message
    assert writes(connection) == {}
    assert second.writes == 0
    assert {r.message for r in second.resources} == {"unchanged"}

    # A process that remembers nothing (a CI run) reads the live objects and writes nothing either.
    connection.requests.clear()
    third = await sync(request, writer)
    assert writes(connection) == {}
    assert third.writes == 0
    assert {r.message for r in third.resources} == {"unchanged"}

    # And the comparer sees no diff afterwards.
    desired = await with_namespace(objects, namespace, writer.discovery)
    verdicts = await Comparer(writer, ClusterLive(writer)).compare_all(desired, app=f"gb-{namespace}")
    assert [v.status for v in verdicts] == [SyncStatusCode.synced, SyncStatusCode.synced]


async def test_a_kubectl_edit_is_reverted_by_the_next_sync(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    request = SyncRequest(app=f"ed-{namespace}", objects=[deployment("web")], namespace=namespace, wait=False)
    memo = AppliedMemo()
    assert (await sync(request, writer, memo=memo)).phase is OperationPhase.succeeded
    cluster.kubectl("scale", "deployment", "web", "--replicas=5", "-n", namespace)
    # Once the scale-up settles, the comparison is not racing the controllers' status writes.
    eventually(
        lambda: (
            cluster.get_json("deployment", "web", "-n", namespace).get("status", {}).get("readyReplicas") == 5
        ),
        60,
        "the scaled Deployment ready",
    )

    again = await sync(request, writer, memo=memo)

    assert by_name(again)["web"].written
    assert "replicas: 5" in by_name(again)["web"].diff
    assert cluster.get_json("deployment", "web", "-n", namespace)["spec"]["replicas"] == 2


async def test_presync_hook_runs_before_the_deployment(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    objects = [deployment("web"), job("migrate", **{"argocd.argoproj.io/hook": "PreSync"})]

    result = await sync(SyncRequest(app=f"hk-{namespace}", objects=objects, namespace=namespace), writer)

    assert result.phase is OperationPhase.succeeded, result.message
    hook = by_name(result)["migrate"]
    assert (hook.hook, hook.hook_phase) == ("PreSync", OperationPhase.succeeded)
    migrate = cluster.get_json("job", "migrate", "-n", namespace)
    web = cluster.get_json("deployment", "web", "-n", namespace)
    # Timestamps have one-second resolution: the Job finished no later than the Deployment appeared.
    assert migrate["status"]["completionTime"] <= web["metadata"]["creationTimestamp"]
    assert [r.key.name for r in result.resources] == ["migrate", "web"]


async def test_a_failing_hook_stops_the_sync_and_runs_syncfail_hooks(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    # kwok completes every Job pod it runs; a pod no node accepts never runs, and the Job
    # controller fails the Job at its deadline.
    failing = job("check", **{"argocd.argoproj.io/hook": "PreSync"})
    failing["spec"]["activeDeadlineSeconds"] = 2
    failing["spec"]["template"]["spec"]["nodeSelector"] = {"gitward.dev/no-such-node": "true"}
    cleanup = job("cleanup", **{"argocd.argoproj.io/hook": "SyncFail"})
    objects = [failing, cleanup, deployment("web")]

    result = await sync(
        SyncRequest(app=f"sf-{namespace}", objects=objects, namespace=namespace, timeout=120), writer
    )

    assert result.phase is OperationPhase.failed
    assert "check" in result.message
    results = by_name(result)
    assert results["check"].hook_phase is OperationPhase.failed
    assert "DeadlineExceeded" in results["check"].message or "deadline" in results["check"].message.lower()
    assert (results["cleanup"].hook, results["cleanup"].hook_phase) == ("SyncFail", OperationPhase.succeeded)
    assert cluster.kubectl("get", "deployment", "web", "-n", namespace, check=False) == ""


async def test_prune_removes_only_this_apps_objects(cluster: Cluster, namespace: str, writer: Writer) -> None:
    app = f"pr-{namespace}"
    first = await sync(
        SyncRequest(app=app, objects=[config_map("keep"), config_map("gone")], namespace=namespace), writer
    )
    assert first.phase is OperationPhase.succeeded, first.message
    other = await sync(
        SyncRequest(app=f"other-{namespace}", objects=[config_map("theirs")], namespace=namespace), writer
    )
    assert other.phase is OperationPhase.succeeded
    # A copy of "gone" made with kubectl carries a tracking id that names "gone", not itself.
    copy = config_map("copy")
    copy["metadata"]["namespace"] = namespace
    copy["metadata"]["annotations"] = {"gitward.dev/tracking-id": f"{app}:/ConfigMap:{namespace}/gone"}
    cluster.kubectl("create", "-f", "-", stdin=json.dumps(copy))

    without_prune = await sync(
        SyncRequest(app=app, objects=[config_map("keep")], namespace=namespace), writer
    )
    assert "gone" not in by_name(without_prune)
    assert "gone" in cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name")

    pruned = await sync(
        SyncRequest(app=app, objects=[config_map("keep")], namespace=namespace, prune=True), writer
    )

    assert pruned.phase is OperationPhase.succeeded, pruned.message
    assert by_name(pruned)["gone"].status is ResultCode.pruned
    names = set(cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name").split())
    assert {"configmap/keep", "configmap/theirs", "configmap/copy"} <= names
    assert "configmap/gone" not in names


async def test_an_empty_revision_prunes_nothing_without_allow_empty(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"em-{namespace}"
    await sync(SyncRequest(app=app, objects=[config_map("a")], namespace=namespace), writer)

    empty = await sync(SyncRequest(app=app, objects=[], namespace=namespace, prune=True), writer)

    assert by_name(empty)["a"].status is ResultCode.prune_skipped
    assert "allowEmpty" in by_name(empty)["a"].message
    assert "configmap/a" in cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name")
    allowed = await sync(
        SyncRequest(app=app, objects=[], namespace=namespace, prune=True, allow_empty=True), writer
    )
    assert by_name(allowed)["a"].status is ResultCode.pruned


async def test_an_invalid_object_means_nothing_is_applied(
    cluster: Cluster, namespace: str, connection: Connection, writer: Writer
) -> None:
    broken = deployment("web")
    broken["spec"]["replicaz"] = 3
    objects = [config_map("settings"), service("web"), broken]
    connection.requests.clear()

    result = await sync(SyncRequest(app=f"iv-{namespace}", objects=objects, namespace=namespace), writer)

    assert result.phase is OperationPhase.failed
    assert "nothing was applied" in result.message
    assert "Deployment" in result.message and "web" in result.message and "replicaz" in result.message
    assert result.writes == 0
    present = cluster.kubectl("get", "configmap,service,deployment", "-n", namespace, "-o", "name").split()
    assert present == ["configmap/kube-root-ca.crt"]  # the namespace's own, made by the controller-manager


async def test_an_immutable_change_needs_force(cluster: Cluster, namespace: str, writer: Writer) -> None:
    app = f"im-{namespace}"
    first = await sync(SyncRequest(app=app, objects=[job("once")], namespace=namespace, wait=False), writer)
    assert first.phase is OperationPhase.succeeded, first.message
    uid = cluster.get_json("job", "once", "-n", namespace)["metadata"]["uid"]
    changed = [job("once", image="registry.example/migrate:2")]

    refused = await sync(SyncRequest(app=app, objects=changed, namespace=namespace, wait=False), writer)

    assert refused.phase is OperationPhase.failed
    assert "immutable field spec.template" in refused.message
    assert "Force=true" in refused.message
    live = cluster.get_json("job", "once", "-n", namespace)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/migrate:1"

    forced = await sync(
        SyncRequest(
            app=app, objects=changed, namespace=namespace, options=SyncOptions(force=True), wait=False
        ),
        writer,
    )

    assert forced.phase is OperationPhase.succeeded, forced.message
    live = cluster.get_json("job", "once", "-n", namespace)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/migrate:2"
    assert live["metadata"]["uid"] != uid


async def test_secret_values_never_appear_in_results(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"se-{namespace}"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": "first-hunter2-value"},
    }
    assert (await sync(SyncRequest(app=app, objects=[secret], namespace=namespace), writer)).phase is (
        OperationPhase.succeeded
    )
    secret["stringData"] = {"password": "second-hunter2-value"}
    preview = await sync(SyncRequest(app=app, objects=[secret], namespace=namespace, dry_run=True), writer)
    mistyped = dict(secret, stringData={"password": 73519024})
    refused = await sync(SyncRequest(app=app, objects=[mistyped], namespace=namespace), writer)

    assert by_name(preview)["db"].diff  # the change is visible...
    assert refused.phase is OperationPhase.failed
    text = json.dumps([preview.as_dict(), refused.as_dict()])
    for value in ("first-hunter2-value", "second-hunter2-value", "73519024"):
        assert value not in text
    for raw in (b"first-hunter2-value", b"second-hunter2-value"):
        assert base64.b64encode(raw).decode() not in text


async def test_create_namespace_and_waves_in_order(cluster: Cluster, namespace: str, writer: Writer) -> None:
    target = f"{namespace}-new"
    objects = [
        config_map("late", **{"argocd.argoproj.io/sync-wave": "2"}),
        config_map("early", **{"argocd.argoproj.io/sync-wave": "-1"}),
    ]
    try:
        result = await sync(
            SyncRequest(
                app=f"cn-{namespace}",
                objects=objects,
                namespace=target,
                options=SyncOptions(create_namespace=True),
            ),
            writer,
        )
        assert result.phase is OperationPhase.succeeded, result.message
        early = cluster.get_json("configmap", "early", "-n", target)["metadata"]["creationTimestamp"]
        late = cluster.get_json("configmap", "late", "-n", target)["metadata"]["creationTimestamp"]
        assert early <= late
        assert [r.key.name for r in result.resources] == ["early", "late"]
    finally:
        cluster.kubectl("delete", "namespace", target, "--wait=false", check=False)


async def test_a_field_removed_from_git_is_removed_from_the_cluster(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"rm-{namespace}"
    labelled = config_map("settings")
    labelled["metadata"]["labels"] = {"team": "shop", "tier": "front"}
    assert (await sync(SyncRequest(app=app, objects=[labelled], namespace=namespace), writer)).phase is (
        OperationPhase.succeeded
    )
    labelled["metadata"]["labels"] = {"team": "shop"}

    # A fresh process: no memo of the first sync, only the live object and its managedFields.
    again = await sync(SyncRequest(app=app, objects=[labelled], namespace=namespace), writer)

    assert by_name(again)["settings"].written
    labels = cluster.get_json("configmap", "settings", "-n", namespace)["metadata"]["labels"]
    assert labels == {"team": "shop"}


async def test_an_object_of_another_app_is_taken_over_only_without_fail_on_shared_resource(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    first, second = f"a-{namespace}", f"b-{namespace}"
    await sync(SyncRequest(app=first, objects=[config_map("shared")], namespace=namespace), writer)
    strict = SyncOptions(fail_on_shared_resource=True)

    refused = await sync(
        SyncRequest(app=second, objects=[config_map("shared")], namespace=namespace, options=strict), writer
    )

    assert refused.phase is OperationPhase.failed
    assert f"tracked by {first}" in refused.message
    tracking_id = "gitward.dev/tracking-id"
    live = cluster.get_json("configmap", "shared", "-n", namespace)
    assert live["metadata"]["annotations"][tracking_id].startswith(f"{first}:")

    taken = await sync(SyncRequest(app=second, objects=[config_map("shared")], namespace=namespace), writer)

    assert taken.phase is OperationPhase.succeeded
    assert any(f"also tracked by app {first}" in w for w in taken.warnings)
    live = cluster.get_json("configmap", "shared", "-n", namespace)
    assert live["metadata"]["annotations"][tracking_id].startswith(f"{second}:")


async def test_replace_makes_the_object_exactly_the_manifest(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    app = f"rp-{namespace}"
    plain = [config_map("plain")]
    replaced = [config_map("replaced", **{"gitward.dev/sync-options": "Replace=true"})]
    first = await sync(SyncRequest(app=app, objects=plain + replaced, namespace=namespace), writer)
    assert first.phase is OperationPhase.succeeded, first.message
    for name in ("plain", "replaced"):
        cluster.kubectl("label", "configmap", name, "added-by=hand", "-n", namespace)

    again = await sync(SyncRequest(app=app, objects=plain + replaced, namespace=namespace), writer)

    assert again.phase is OperationPhase.succeeded, again.message
    # Server-side apply leaves a label it does not manage; a replace drops it.
    assert cluster.get_json("configmap", "plain", "-n", namespace)["metadata"]["labels"] == {
        "added-by": "hand"
    }
    assert "labels" not in cluster.get_json("configmap", "replaced", "-n", namespace)["metadata"]


async def test_hook_delete_policies(cluster: Cluster, namespace: str, writer: Writer) -> None:
    app = f"dp-{namespace}"
    tidy = job(
        "tidy",
        **{"argocd.argoproj.io/hook": "PostSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded"},
    )
    kept = job("kept", **{"argocd.argoproj.io/hook": "PostSync"})
    request = SyncRequest(app=app, objects=[config_map("cfg"), tidy, kept], namespace=namespace, timeout=120)

    first = await sync(request, writer)

    assert first.phase is OperationPhase.succeeded, first.message
    assert by_name(first)["tidy"].hook_phase is OperationPhase.succeeded
    jobs = cluster.kubectl("get", "jobs", "-n", namespace, "-o", "name").split()
    assert jobs == ["job.batch/kept"]  # tidy deleted once it succeeded; kept waits for the next sync
    uid = cluster.get_json("job", "kept", "-n", namespace)["metadata"]["uid"]

    second = await sync(request, writer)

    assert second.phase is OperationPhase.succeeded, second.message
    # BeforeHookCreation (the default): the previous run is deleted, and the hook runs again.
    assert cluster.get_json("job", "kept", "-n", namespace)["metadata"]["uid"] != uid


async def test_an_object_in_a_missing_namespace_means_nothing_is_applied(
    cluster: Cluster, namespace: str, writer: Writer
) -> None:
    elsewhere = config_map("b")
    elsewhere["metadata"]["namespace"] = f"{namespace}-missing"

    result = await sync(
        SyncRequest(app=f"mn-{namespace}", objects=[config_map("a"), elsewhere], namespace=namespace), writer
    )

    assert result.phase is OperationPhase.failed
    assert f"{namespace}-missing" in result.message
    assert "configmap/a" not in cluster.kubectl("get", "configmap", "-n", namespace, "-o", "name")
