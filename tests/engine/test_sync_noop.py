"""When a sync may skip an object without a dry run: only when applying it provably changes nothing."""

from __future__ import annotations

import copy
from typing import Any

from gitward.engine.diff.applied import AppliedMemo, declared_unchanged


def desired() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"tier": "front"}},
        "spec": {
            "replicas": 2,
            "template": {
                "spec": {
                    "containers": [{"name": "app", "image": "web:1", "ports": [{"containerPort": 80}]}],
                }
            },
        },
    }


OUR_FIELDS = {
    "f:metadata": {"f:labels": {"f:tier": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:template": {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"app"}': {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                        },
                    }
                }
            }
        },
    },
}


def live(fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the server holds after gitward applied `desired()`: defaults added, status and others' fields."""
    obj = desired()
    obj["metadata"].update(
        uid="u-1",
        resourceVersion="42",
        annotations={"deployment.kubernetes.io/revision": "1"},
        managedFields=[
            {
                "manager": "gitward",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": fields if fields is not None else OUR_FIELDS,
            },
            {
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "fieldsV1": {"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}},
            },
        ],
    )
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container.update(imagePullPolicy="IfNotPresent", terminationMessagePath="/dev/termination-log")
    container["ports"][0]["protocol"] = "TCP"
    obj["spec"]["strategy"] = {"type": "RollingUpdate"}
    obj["status"] = {"replicas": 2, "availableReplicas": 2}
    return obj


def test_an_object_as_gitward_left_it_needs_no_apply() -> None:
    assert declared_unchanged(desired(), live(), "gitward")


def test_a_value_edited_in_the_cluster_needs_an_apply() -> None:
    edited = live()
    edited["spec"]["replicas"] = 5
    assert not declared_unchanged(desired(), edited, "gitward")


def test_a_field_dropped_from_git_but_still_ours_needs_an_apply() -> None:
    # The label is still on the object and still owned by gitward; the apply would remove it.
    without_label = desired()
    del without_label["metadata"]["labels"]["tier"]
    assert not declared_unchanged(without_label, live(), "gitward")


def test_a_container_field_dropped_from_git_needs_an_apply() -> None:
    without_ports = desired()
    del without_ports["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert not declared_unchanged(without_ports, live(), "gitward")


def test_a_removed_container_needs_an_apply() -> None:
    two = live()
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "s:1"})
    assert not declared_unchanged(desired(), two, "gitward")


def test_an_object_gitward_never_applied_is_left_to_the_dry_run() -> None:
    foreign = live()
    foreign["metadata"]["managedFields"] = foreign["metadata"]["managedFields"][1:]
    assert not declared_unchanged(desired(), foreign, "gitward")
    assert not declared_unchanged(desired(), None, "gitward")


def test_a_value_the_server_rewrote_is_left_to_the_dry_run() -> None:
    quoted = desired()
    quoted["spec"]["replicas"] = "2"  # a string where the server stores an integer
    assert not declared_unchanged(quoted, live(), "gitward")


def test_the_memo_accepts_status_churn_but_not_edits() -> None:
    memo = AppliedMemo()
    stored = live()
    memo.remember(desired(), stored)
    later = copy.deepcopy(stored)
    later["status"]["availableReplicas"] = 1
    later["metadata"]["resourceVersion"] = "43"
    assert memo.unchanged(desired(), later)
    later["spec"]["template"]["spec"]["containers"][0]["image"] = "web:2"
    assert not memo.unchanged(desired(), later)
    recreated = copy.deepcopy(stored)
    recreated["metadata"]["uid"] = "u-2"
    assert not memo.unchanged(desired(), recreated)
