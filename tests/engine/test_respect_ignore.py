"""RespectIgnoreDifferences: which values an apply keeps from the live object (plain dicts)."""

from __future__ import annotations

from typing import Any

from gitward.engine.diff.ignore import load_rules
from gitward.engine.diff.respect import keep_ignored, merge_patch


def deployment(replicas: int, image: str, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", **extra},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


async def test_an_ignored_path_takes_the_live_value_and_the_rest_stays_as_declared() -> None:
    rules = load_rules([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}])

    kept = await keep_ignored(deployment(2, "app:2"), deployment(7, "app:1"), rules)

    assert kept["spec"]["replicas"] == 7
    assert kept["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"


async def test_an_ignored_path_the_live_object_lacks_is_dropped_from_the_apply() -> None:
    rules = load_rules([{"kind": "ConfigMap", "jsonPointers": ["/data/mode"]}])
    desired = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"a": "1", "mode": "x"},
    }
    live = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "0"}}

    assert (await keep_ignored(desired, live, rules))["data"] == {"a": "1"}


async def test_nothing_changes_without_a_live_object_or_a_matching_rule() -> None:
    rules = load_rules([{"kind": "ConfigMap", "jsonPointers": ["/data"]}])
    desired = deployment(2, "app:2")

    assert await keep_ignored(desired, None, rules) == desired
    assert await keep_ignored(desired, deployment(9, "app:1"), rules) == desired


async def test_a_path_inside_a_list_item_brings_the_live_list_whole() -> None:
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": [".spec.template.spec.containers[].image"],
            }
        ]
    )

    kept = await keep_ignored(deployment(2, "app:2"), deployment(2, "app:1"), rules)

    assert kept["spec"]["template"]["spec"]["containers"] == [{"name": "app", "image": "app:1"}]


async def test_fields_a_named_manager_owns_keep_their_live_values() -> None:
    rules = load_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa"]}])
    managed = [{"manager": "hpa", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]

    kept = await keep_ignored(deployment(2, "app:2"), deployment(5, "app:1", managedFields=managed), rules)

    assert kept["spec"]["replicas"] == 5
    assert kept["spec"]["template"]["spec"]["containers"][0]["image"] == "app:2"


def test_merge_patch_follows_rfc_7386() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    patch = {"a": "z", "c": {"f": None}, "l": [3], "n": {"m": 1}}

    assert merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "l": [3], "n": {"m": 1}}
