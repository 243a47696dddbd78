"""AppProject enforcement end to end: a real Git server, the real cluster, the controller running.

Each violation leaves a condition that says what broke which rule, and the
cluster untouched: not one object of the app is applied.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

ALLOW_ALL: dict[str, Any] = {
    "sourceRepos": ["*"],
    "destinations": [{"server": "*", "namespace": "*"}],
    "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
}


def apply_project(cluster: Cluster, namespace: str, spec: dict[str, Any], name: str = "team") -> None:
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(project))


def create_app(cluster: Cluster, namespace: str, target: str, url: str, project: str = "team") -> None:
    app = application(namespace, target, url)
    app["spec"]["project"] = project
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))


def app_status(cluster: Cluster, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    return found.get("status") or {}


def condition(cluster: Cluster, namespace: str, kind: str) -> dict[str, Any] | None:
    conditions = app_status(cluster, namespace).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def request_sync(cluster: Cluster, namespace: str) -> None:
    """What `gitward app sync` asks for: a person's sync with prune, in the app's `operation`."""
    operation = {"sync": {"prune": True}, "initiatedBy": {"username": "tester"}}
    patch = json.dumps({"operation": operation})
    cluster.kubectl("patch", "applications.gitward.dev", "shop", "-n", namespace, "--type=merge", "-p", patch)


def applied(cluster: Cluster, target: str) -> list[str]:
    """Every object of the example app present in `target`."""
    out = cluster.kubectl(
        "get", "configmap/settings", "deployment/web", "-n", target, "--ignore-not-found", "-o", "name"
    )
    return out.split()


async def quiet_passes(controller: Controller, passes: int = 2) -> None:
    """Let the controller finish a few more reconciles: a late write would show up after them."""
    seen = controller.triggers.counts["poll"]
    await until(lambda: controller.triggers.counts["poll"] >= seen + passes, what="more reconciles")


def target_namespace(cluster: Cluster) -> str:
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    return target


async def test_a_repository_outside_source_repos_is_refused_until_the_project_allows_it(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    target = target_namespace(cluster)
    apply_project(cluster, namespace, {**ALLOW_ALL, "sourceRepos": ["https://git.example/team/*"]})
    create_app(cluster, namespace, target, url)

    found = await until(lambda: condition(cluster, namespace, "InvalidSpecError"), what="InvalidSpecError")
    assert found["message"] == f"application repo {url} is not permitted in project 'team'"
    await quiet_passes(controller)
    assert applied(cluster, target) == []

    # Widening the project is enough: its change wakes the app, which now syncs and loses the condition.
    apply_project(cluster, namespace, {**ALLOW_ALL, "sourceRepos": ["https://git.example/team/*", url]})
    await until(lambda: app_status(cluster, namespace).get("sync", {}).get("status") == "Synced", what="sync")
    assert sorted(applied(cluster, target)) == ["configmap/settings", "deployment.apps/web"]
    assert condition(cluster, namespace, "InvalidSpecError") is None


async def test_a_destination_namespace_denied_with_a_bang_is_refused(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    target = target_namespace(cluster)
    destinations = [{"server": "*", "namespace": "*"}, {"server": "*", "namespace": f"!{target}"}]
    apply_project(cluster, namespace, {**ALLOW_ALL, "destinations": destinations})
    create_app(cluster, namespace, target, url)

    found = await until(lambda: condition(cluster, namespace, "InvalidSpecError"), what="InvalidSpecError")
    assert found["message"] == (
        f"application destination {{https://kubernetes.default.svc {target}}}"
        " is not permitted in project 'team'"
    )
    await quiet_passes(controller)
    assert applied(cluster, target) == []


CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get]
"""


async def test_a_cluster_scoped_kind_the_project_does_not_list_refuses_the_whole_revision(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    role = f"hprj-reader-{secrets.token_hex(3)}"
    upstream.commit({"deploy/role.yaml": CLUSTER_ROLE.format(name=role)})
    target = target_namespace(cluster)
    # Namespaced kinds are all allowed; with no clusterResourceWhitelist, no cluster-scoped kind is.
    apply_project(
        cluster, namespace, {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}
    )
    create_app(cluster, namespace, target, url)

    found = await until(lambda: condition(cluster, namespace, "SyncError"), what="SyncError")
    assert found["message"] == (
        f"rbac.authorization.k8s.io/ClusterRole {role}:"
        " rbac.authorization.k8s.io/ClusterRole is not permitted in project 'team'"
        " (cluster-scoped, and clusterResourceWhitelist is empty)"
    )
    await quiet_passes(controller)
    assert applied(cluster, target) == []
    assert cluster.kubectl("get", "clusterrole", role, "--ignore-not-found", "-o", "name").strip() == ""


def window_now(duration: str, now: dt.datetime | None = None) -> dict[str, Any]:
    """A deny window that opened at the start of this minute (UTC) and lasts `duration`."""
    now = now or dt.datetime.now(dt.UTC)
    return {
        "kind": "deny",
        "schedule": f"{now.minute} {now.hour} * * *",
        "duration": duration,
        "applications": ["shop"],
    }


async def test_a_deny_window_holds_automated_and_manual_syncs_until_it_closes(
    cluster: Cluster, namespace: str, repo: tuple[str, Upstream], slow_poll: Controller
) -> None:
    url, _ = repo
    target = target_namespace(cluster)
    opened = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    window = window_now("2h", opened)
    apply_project(cluster, namespace, {**ALLOW_ALL, "syncWindows": [window]})
    create_app(cluster, namespace, target, url)

    blocked = await until(lambda: condition(cluster, namespace, "SyncWindowBlocked"), what="the window block")
    assert blocked["message"] == (
        f"sync blocked by sync window (a deny window is open: deny '{window['schedule']}' for 2h)"
    )
    assert app_status(cluster, namespace)["sync"]["status"] == "OutOfSync"
    assert applied(cluster, target) == []

    # A person's sync is refused too (the window has no manualSync), and says why.
    request_sync(cluster, namespace)
    state = await until(
        lambda: (
            (app_status(cluster, namespace).get("operationState") or {}).get("phase") == "Failed"
            and app_status(cluster, namespace)["operationState"]
        ),
        what="the refused operation",
    )
    assert state["message"] == blocked["message"]
    assert "operation" not in cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert applied(cluster, target) == []

    # The window now ends a few seconds from now: the app syncs by itself once it has.
    ends = int((dt.datetime.now(dt.UTC) - opened).total_seconds()) + 5
    apply_project(cluster, namespace, {**ALLOW_ALL, "syncWindows": [{**window, "duration": f"{ends}s"}]})
    await until(
        lambda: sorted(applied(cluster, target)) == ["configmap/settings", "deployment.apps/web"],
        what="sync",
    )
    await until(
        lambda: condition(cluster, namespace, "SyncWindowBlocked") is None, what="the condition to clear"
    )


async def test_a_missing_project_is_refused_and_a_missing_default_allows_everything(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    target = target_namespace(cluster)
    create_app(cluster, namespace, target, url, project="nowhere")
    found = await until(lambda: condition(cluster, namespace, "InvalidSpecError"), what="InvalidSpecError")
    assert found["message"] == "application references project nowhere which does not exist"
    await quiet_passes(controller)
    assert applied(cluster, target) == []

    # A project the API server refuses never reaches the controller: a window must select something.
    with pytest.raises(AssertionError, match="a sync window needs applications, namespaces or clusters"):
        apply_project(
            cluster, namespace, {"syncWindows": [{"kind": "deny", "schedule": "@daily", "duration": "1h"}]}
        )

    # No AppProject named default exists in this namespace: the default project allows all, as Argo CD's.
    create_app(cluster, namespace, target, url, project="default")
    await until(
        lambda: sorted(applied(cluster, target)) == ["configmap/settings", "deployment.apps/web"], what="sync"
    )


async def test_manual_sync_gets_through_a_deny_window_that_allows_it(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    target = target_namespace(cluster)
    apply_project(
        cluster, namespace, {**ALLOW_ALL, "syncWindows": [{**window_now("2h"), "manualSync": True}]}
    )
    create_app(cluster, namespace, target, url)
    await until(lambda: condition(cluster, namespace, "SyncWindowBlocked"), what="the window block")
    assert applied(cluster, target) == []

    request_sync(cluster, namespace)
    await until(
        lambda: sorted(applied(cluster, target)) == ["configmap/settings", "deployment.apps/web"], what="sync"
    )
    await until(
        lambda: (app_status(cluster, namespace).get("operationState") or {}).get("phase") == "Succeeded",
        what="the operation to succeed",
    )
    # In sync now, automated sync has nothing left to wait for.
    await until(
        lambda: condition(cluster, namespace, "SyncWindowBlocked") is None, what="the condition to clear"
    )
