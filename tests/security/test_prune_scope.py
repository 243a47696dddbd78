"""Finding 9: prune and cascade delete must not trust the tracking annotation alone.

Whoever may patch an object's annotations can write team-a's tracking id on
it. Before the fix, an object in kube-system carrying that id was planned for
deletion by team-a's app. Here the attack is replayed against the real
controller: team-a's AppProject allows only its own namespace; a ConfigMap in
kube-system and one in another team's namespace carry team-a's app's id.
A sync with prune, and then deleting the app with cascade, must delete what
the app deployed inside its destination and leave both foreign objects
alone, saying so (sync result, condition, Event), while the bystander app
keeps healing.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.engine.tracking import format_id, tracking_app
from gitward.model.application import FINALIZER, IN_CLUSTER
from gitward.model.resource import TRACKING_ANNOTATION, ResourceKey
from tests.e2e.support import app_status, application, condition, live, request_sync, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

APP = "shop-a"
OUTSIDE = "ResourceOutsideProjectWarning"


@pytest.fixture
def namespaces(cluster: Cluster, namespace: str) -> Iterator[tuple[str, str]]:
    """team-a's namespace and another team's."""
    own, other = f"{namespace}-a", f"{namespace}-b"
    for name in (own, other):
        cluster.kubectl("create", "namespace", name)
    yield own, other
    for name in (own, other):
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def victim_name(cluster: Cluster) -> Iterator[str]:
    """A unique name for the planted ConfigMaps; the kube-system one is removed whatever happens."""
    name = f"victim-{secrets.token_hex(4)}"
    yield name
    cluster.kubectl("delete", "configmap", name, "-n", "kube-system", "--ignore-not-found", check=False)


def plant(cluster: Cluster, owner: str, namespace: str, name: str) -> None:
    """A ConfigMap carrying `owner`'s tracking id, one that names this very object (as a tenant would)."""
    tracking = format_id(owner, ResourceKey("", "ConfigMap", namespace, name))
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "annotations": {TRACKING_ANNOTATION: tracking}},
        "data": {"precious": "yes"},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(obj))


def team_a_project(cluster: Cluster, namespace: str, own: str) -> None:
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": namespace},
        "spec": {"sourceRepos": ["*"], "destinations": [{"server": IN_CLUSTER, "namespace": own}]},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(project))


def operation_done(cluster: Cluster, namespace: str, by: str) -> dict[str, Any] | None:
    state = app_status(cluster, namespace, APP).get("operationState") or {}
    initiated = (state.get("operation") or {}).get("initiatedBy") or {}
    if initiated.get("username") == by and state.get("phase") in ("Succeeded", "Failed", "Error"):
        return dict(state)
    return None


def app_gone(cluster: Cluster, namespace: str) -> bool:
    out = cluster.kubectl("get", "applications.gitward.dev", APP, "-n", namespace, "--ignore-not-found")
    return not out.strip()


async def test_prune_and_cascade_delete_leave_objects_outside_the_project_alone(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    namespaces: tuple[str, str],
    victim_name: str,
) -> None:
    url, _ = repo
    own, other = namespaces
    owner = tracking_app(namespace, APP)
    team_a_project(cluster, namespace, own)
    app = application(namespace, own, url, name=APP)
    app["spec"]["project"] = "team-a"
    app["metadata"]["finalizers"] = [FINALIZER]
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    await until(lambda: live(cluster, "deployment", "web", own), timeout=90, what="team-a's app synced")

    # The attack: team-a's id written on objects team-a may not manage, plus one it may (to be pruned).
    plant(cluster, owner, "kube-system", victim_name)
    plant(cluster, owner, other, victim_name)
    plant(cluster, owner, own, "leftover")

    def reported() -> dict[str, Any] | None:
        found = condition(app_status(cluster, namespace, APP), OUTSIDE)
        wanted = (f"ConfigMap kube-system/{victim_name}", f"ConfigMap {other}/{victim_name}")
        return found if found and all(w in found["message"] for w in wanted) else None

    # A condition names both as soon as the controller sees them (their id wakes the app).
    found = await until(reported, what="the outside-project condition")
    assert f"ConfigMap kube-system/{victim_name}: carries this app's tracking id" in found["message"]
    request_sync(cluster, namespace, APP)
    await bystander.heals()
    state = await until(lambda: operation_done(cluster, namespace, "tester"), what="the requested sync")

    assert state["phase"] == "Succeeded", state["message"]
    await until(lambda: live(cluster, "configmap", "leftover", own) is None, what="leftover pruned")
    for where in ("kube-system", other):
        assert live(cluster, "configmap", victim_name, where) is not None, f"{where}/{victim_name} deleted"
    # The sync result says what it left and why.
    skipped = {
        r["namespace"]: r["message"]
        for r in state["syncResult"]["resources"]
        if r["name"] == victim_name and r["status"] == "PruneSkipped"
    }
    assert set(skipped) == {"kube-system", other}
    assert all("lies outside project 'team-a'" in message for message in skipped.values())
    assert "its namespace is not a destination of the project" in skipped["kube-system"]
    # The objects are not the app's: not listed, not drift; the condition still names them.
    assert reported() is not None
    status = app_status(cluster, namespace, APP)
    assert victim_name not in {r["name"] for r in status.get("resources") or []}
    await until(
        lambda: app_status(cluster, namespace, APP).get("sync", {}).get("status") == "Synced", what="Synced"
    )

    # Cascade delete: the app's own objects go, the foreign ones stay, and an Event names them.
    cluster.kubectl("delete", "applications.gitward.dev", APP, "-n", namespace, "--wait=false")
    await bystander.heals()
    await until(lambda: app_gone(cluster, namespace), timeout=90, what="the app deleted")
    for kind, name in (("deployment", "web"), ("configmap", "settings")):
        assert live(cluster, kind, name, own) is None, f"{own}/{name} survived the cascade delete"
    for where in ("kube-system", other):
        assert live(cluster, "configmap", victim_name, where) is not None, f"{where}/{victim_name} deleted"
    events = cluster.get_json(
        "events", "-n", namespace, "--field-selector", f"involvedObject.name={APP},reason={OUTSIDE}"
    )
    messages = " ".join(e["message"] for e in events["items"])
    assert f"ConfigMap kube-system/{victim_name}" in messages
    assert f"ConfigMap {other}/{victim_name}" in messages
    await bystander.heals()
