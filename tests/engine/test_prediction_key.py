"""When a cached dry-run prediction still holds: status churn keeps it, anything else a sync sees does not."""

from __future__ import annotations

import copy
from typing import Any

from gitward.engine.diff.compare import _cache_key

DESIRED: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "a"},
}


def deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "a",
            "uid": "u1",
            "resourceVersion": "100",
            "generation": 3,
            "labels": {"app": "web"},
            "managedFields": [
                {"manager": "gitward", "operation": "Apply", "time": "2026-11-30T10:00:00Z", "fieldsV1": {}},
                {
                    "manager": "kube-controller-manager",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2026-11-30T10:00:00Z",
                    "fieldsV1": {"f:status": {}},
                },
            ],
        },
        "spec": {"replicas": 2},
        "status": {"replicas": 1},
    }


def test_a_status_write_keeps_the_prediction() -> None:
    before = deployment()
    after = copy.deepcopy(before)
    after["metadata"]["resourceVersion"] = "101"
    after["status"] = {"replicas": 2, "readyReplicas": 2}
    after["metadata"]["managedFields"][1]["time"] = "2026-11-30T10:00:05Z"
    after["metadata"]["managedFields"][1]["fieldsV1"] = {"f:status": {"f:readyReplicas": {}}}
    assert _cache_key(DESIRED, before) == _cache_key(DESIRED, after)


def test_spec_metadata_owner_and_manifest_changes_each_need_a_new_prediction() -> None:
    base = deployment()
    spec = copy.deepcopy(base)
    spec["metadata"]["generation"] = 4
    label = copy.deepcopy(base)
    label["metadata"]["labels"] = {"app": "web", "edited": "by-hand"}
    owner = copy.deepcopy(base)
    owner["metadata"]["managedFields"].append({"manager": "kubectl-edit", "operation": "Update"})
    keys = {_cache_key(DESIRED, obj) for obj in (base, spec, label, owner)}
    assert len(keys) == 4
    other_manifest = {**DESIRED, "spec": {"replicas": 3}}
    assert _cache_key(other_manifest, base) != _cache_key(DESIRED, base)


def test_an_object_without_a_generation_or_with_other_top_level_fields_goes_by_resource_version() -> None:
    config_map: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "a", "uid": "u2", "resourceVersion": "7"},
        "data": {"k": "v"},
    }
    moved = copy.deepcopy(config_map)
    moved["metadata"]["resourceVersion"] = "8"
    assert _cache_key(config_map, config_map) != _cache_key(config_map, moved)
    # Generation counts spec changes only; a kind with a field beside spec and status is not covered.
    odd: dict[str, Any] = {**deployment(), "data": {"k": "v"}}
    odd_moved = copy.deepcopy(odd)
    odd_moved["metadata"]["resourceVersion"] = "101"
    assert _cache_key(DESIRED, odd) != _cache_key(DESIRED, odd_moved)
