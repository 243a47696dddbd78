"""Prune and cascade delete touch only what the app's project lets it manage, whatever the id says."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gitward.engine.project_policy import allow_all
from gitward.engine.sync.prune import Scope, partition, prune_plan, report
from gitward.engine.tracking import stamp
from gitward.model.application import IN_CLUSTER
from gitward.model.project import AppProject
from gitward.model.resource import ResourceKey

APP = "gitward_team-a"


def project(**spec: Any) -> AppProject:
    spec.setdefault("destinations", [{"server": IN_CLUSTER, "namespace": "team-a"}])
    return AppProject.from_dict(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team-a"},
            "spec": spec,
        }
    )


def live(kind: str, name: str, namespace: str = "team-a", api_version: str = "v1") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if namespace:
        metadata["namespace"] = namespace
    return stamp({"apiVersion": api_version, "kind": kind, "metadata": metadata}, APP)


def pruned(plan: Any) -> list[str]:
    return [str(step.key) for step in plan.steps]


SCOPE = Scope(project(), IN_CLUSTER)


def test_an_object_outside_the_destinations_is_never_pruned_and_is_reported() -> None:
    inside = live("ConfigMap", "old")
    foreign = live("ConfigMap", "victim", namespace="kube-system")
    other_team = live("ConfigMap", "victim", namespace="team-b")
    plan = prune_plan(APP, [], [inside, foreign, other_team], allow_empty=True, scope=SCOPE)
    assert pruned(plan) == ["ConfigMap team-a/old"]
    assert [str(k.key) for k in plan.outside] == ["ConfigMap kube-system/victim", "ConfigMap team-b/victim"]
    reason = plan.outside[0].reason
    assert "outside project 'team-a'" in reason
    assert "its namespace is not a destination of the project" in reason
    assert "never pruned" in reason
    # Not ours, so not "kept" either (kept objects are the app's, shown as requiring pruning).
    assert plan.kept == ()


def test_a_kind_the_project_refuses_is_never_pruned_even_in_an_allowed_namespace() -> None:
    scope = Scope(project(namespaceResourceBlacklist=[{"group": "", "kind": "Secret"}]), IN_CLUSTER)
    secret, config = live("Secret", "creds"), live("ConfigMap", "old")
    plan = prune_plan(APP, [], [secret, config], allow_empty=True, scope=scope)
    assert pruned(plan) == ["ConfigMap team-a/old"]
    (outside,) = plan.outside
    assert outside.key == ResourceKey.of(secret)
    assert "namespaceResourceBlacklist" in outside.reason


def test_a_cluster_scoped_object_needs_the_cluster_whitelist() -> None:
    namespace = live("Namespace", "kube-public", namespace="")
    role = live("ClusterRole", "admin", namespace="", api_version="rbac.authorization.k8s.io/v1")
    plan = prune_plan(APP, [], [namespace, role], allow_empty=True, scope=SCOPE)
    assert pruned(plan) == []
    assert all("clusterResourceWhitelist is empty" in k.reason for k in plan.outside)
    widened = Scope(project(clusterResourceWhitelist=[{"group": "", "kind": "Namespace"}]), IN_CLUSTER)
    plan = prune_plan(APP, [], [namespace, role], allow_empty=True, scope=widened)
    assert pruned(plan) == ["Namespace kube-public"]
    assert [str(k.key) for k in plan.outside] == ["rbac.authorization.k8s.io/ClusterRole admin"]


def test_a_deny_destination_wins_for_prune_as_for_apply() -> None:
    scope = Scope(
        project(destinations=[{"server": "*", "namespace": "*"}, {"server": "*", "namespace": "!kube-*"}]),
        IN_CLUSTER,
    )
    plan = prune_plan(
        APP,
        [],
        [live("ConfigMap", "a", "apps"), live("ConfigMap", "b", "kube-system")],
        allow_empty=True,
        scope=scope,
    )
    assert pruned(plan) == ["ConfigMap apps/a"]
    assert [str(k.key) for k in plan.outside] == ["ConfigMap kube-system/b"]


def test_the_destination_may_be_named_by_cluster_name() -> None:
    named = Scope(project(destinations=[{"name": "in-cluster", "namespace": "team-a"}]), "", "in-cluster")
    plan = prune_plan(APP, [], [live("ConfigMap", "old")], allow_empty=True, scope=named)
    assert pruned(plan) == ["ConfigMap team-a/old"]


def test_without_a_scope_the_tracking_id_decides_as_before() -> None:
    foreign = live("ConfigMap", "victim", namespace="kube-system")
    assert pruned(prune_plan(APP, [], [foreign], allow_empty=True)) == ["ConfigMap kube-system/victim"]


def test_partition_ignores_objects_whose_id_names_another_object_or_app() -> None:
    ours, foreign = live("ConfigMap", "a"), live("ConfigMap", "b", namespace="kube-system")
    copy = {**ours, "metadata": {**ours["metadata"], "name": "copy"}}
    theirs = stamp(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team-a"}}, "x"
    )
    inside, outside = partition(APP, [ours, foreign, copy, theirs], SCOPE)
    assert inside == [ours]
    assert [k.key for k in outside] == [ResourceKey.of(foreign)]


def test_the_report_names_each_object_and_why_and_stays_bounded() -> None:
    objects = [live("ConfigMap", f"x{i:02}", namespace="kube-system") for i in range(14)]
    _, outside = partition(APP, objects, SCOPE)
    text = report(outside)
    assert text.startswith(
        "ConfigMap kube-system/x00: carries this app's tracking id but lies outside project"
    )
    assert "x09" in text and "x10" not in text
    assert text.endswith("and 4 more")


def test_the_allow_all_default_project_keeps_the_old_behaviour() -> None:
    scope = Scope(allow_all(), IN_CLUSTER)
    objects = [live("ConfigMap", "a", "kube-system"), live("Namespace", "n", namespace="")]
    assert len(prune_plan(APP, [], objects, allow_empty=True, scope=scope).steps) == 2


NAMESPACES = st.sampled_from(["team-a", "team-a-dev", "team-b", "kube-system", "default", ""])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["ConfigMap", "Secret", "Namespace"]), NAMESPACES), max_size=12))
def test_nothing_outside_the_project_is_ever_in_a_prune_plan(placed: list[tuple[str, str]]) -> None:
    scope = Scope(project(destinations=[{"server": IN_CLUSTER, "namespace": "team-a*"}]), IN_CLUSTER)
    objects = [live(kind, f"o{i}", namespace) for i, (kind, namespace) in enumerate(placed)]
    plan = prune_plan(APP, [], objects, allow_empty=True, scope=scope)
    for step in plan.steps:
        assert step.key.namespace.startswith("team-a"), step.key
    assert len(plan.steps) + len(plan.outside) == len(objects)
