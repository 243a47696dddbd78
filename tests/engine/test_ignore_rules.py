"""ignoreDifferences rules on plain dicts: matching, JSON pointers, jq paths, managed fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.engine.diff.ignore import IgnoreRuleError, apply_rules, load_rules


def deployment(name: str = "web", namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": {"a/b": "1", "keep": "2"}},
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "containers": [
                        {"name": "app", "image": "web:1", "env": [{"name": "A", "value": "1"}]},
                        {"name": "sidecar", "image": "proxy:1"},
                    ]
                }
            },
        },
    }


async def test_json_pointers_remove_paths_and_unescape_tilde_and_slash() -> None:
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec/replicas", "/metadata/annotations/a~1b"],
            }
        ]
    )
    out = await apply_rules(rules, deployment())
    assert out is not None
    assert "replicas" not in out["spec"]
    assert out["metadata"]["annotations"] == {"keep": "2"}


async def test_a_pointer_that_finds_nothing_leaves_the_object_as_it_was() -> None:
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec/missing/deeper", "/spec/template/spec/containers/7"],
            }
        ]
    )
    assert await apply_rules(rules, deployment()) == deployment()


async def test_pointer_into_a_list_by_index() -> None:
    rules = load_rules(
        [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/template/spec/containers/1"]}]
    )
    out = await apply_rules(rules, deployment())
    assert out is not None
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app"]


@pytest.mark.parametrize(
    ("rule", "applies"),
    [
        ({"group": "apps", "kind": "Deployment"}, True),
        ({"group": "", "kind": "Deployment"}, False),  # "" is the core group, not any group
        ({"group": "*", "kind": "*"}, True),
        ({"group": "apps", "kind": "Deployment", "name": "web", "namespace": "shop"}, True),
        ({"group": "apps", "kind": "Deployment", "name": "api"}, False),
        ({"group": "apps", "kind": "Deployment", "namespace": "other"}, False),
        ({"group": "apps", "kind": "StatefulSet"}, False),
    ],
)
async def test_rules_apply_only_to_the_objects_they_name(rule: dict[str, Any], applies: bool) -> None:
    rules = load_rules([{**rule, "jsonPointers": ["/spec/replicas"]}])
    out = await apply_rules(rules, deployment())
    assert out is not None
    assert ("replicas" not in out["spec"]) is applies


async def test_jq_path_expression_selects_list_items_by_field() -> None:
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jqPathExpressions": ['.spec.template.spec.containers[] | select(.name == "sidecar")'],
            }
        ]
    )
    out = await apply_rules(rules, deployment())
    assert out is not None
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app"]


def test_a_broken_jq_expression_is_refused_when_loaded_naming_it() -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        load_rules([{"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.template["]}])
    assert "'.spec.template['" in str(caught.value)
    assert "apps/Deployment" in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        (".data.password[]", "Cannot iterate over string"),
        (".data.password.x", "Cannot index string with string"),
        ('.data.password + "x"', "Invalid path expression"),
        (".data.password | error", "withheld"),
        ("error(.data)", "withheld"),
    ],
)
async def test_a_jq_failure_at_run_time_names_the_expression_but_never_the_value(
    expression: str, reason: str
) -> None:
    rules = load_rules([{"kind": "Secret", "jqPathExpressions": [expression]}])
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="},
    }
    with pytest.raises(IgnoreRuleError) as caught:
        await apply_rules(rules, secret)
    assert repr(expression) in str(caught.value)
    assert reason in str(caught.value)
    assert "aHVudGVyMg" not in str(caught.value)


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"group": "apps", "jsonPointers": ["/spec"]}, "kind"),
        ({"kind": "Deployment", "jsonPointers": ["spec/replicas"]}, "must start with '/'"),
        ({"kind": "Deployment", "jsonPointers": ["/a~2b"]}, "'~' must be followed by 0 or 1"),
        ({"kind": "Deployment", "jsonPointers": [""]}, "whole object"),
        ({"kind": "Deployment", "jsonPointer": ["/spec"]}, "unknown field(s) jsonPointer"),
        ({"kind": "Deployment", "jsonPointers": "/spec"}, "jsonPointers: expected a list"),
    ],
)
def test_malformed_rules_are_refused_with_the_reason(entry: dict[str, Any], complaint: str) -> None:
    with pytest.raises(IgnoreRuleError) as caught:
        load_rules([{"group": "x", "kind": "Other"}, entry])
    assert str(caught.value).startswith("ignoreDifferences[1]")
    assert complaint in str(caught.value)


def owned(manager: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"manager": manager, "operation": "Update", "fieldsV1": fields}


async def test_fields_owned_by_a_named_manager_are_ignored_and_others_kept() -> None:
    managed = [
        owned("kubectl", {"f:spec": {"f:replicas": {}}}),
        owned(
            "kubectl-patch",
            {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"app"}': {"f:image": {}}}}}}},
        ),
        owned(
            "injector",
            {
                "f:spec": {
                    "f:template": {
                        "f:spec": {
                            "f:containers": {'k:{"name":"sidecar"}': {".": {}, "f:image": {}, "f:name": {}}}
                        }
                    }
                }
            },
        ),
    ]
    rules = load_rules(
        [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl", "kubectl-patch"]}]
    )
    out = await apply_rules(rules, deployment(), managed)
    assert out is not None
    assert "replicas" not in out["spec"]
    containers = out["spec"]["template"]["spec"]["containers"]
    assert containers[0] == {"name": "app", "env": [{"name": "A", "value": "1"}]}
    assert containers[1] == {"name": "sidecar", "image": "proxy:1"}  # "injector" was not named

    # An item a named manager created goes as a whole.
    rules = load_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["injector"]}])
    out = await apply_rules(rules, deployment(), managed)
    assert out is not None
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["app"]


async def test_a_map_owned_in_part_keeps_the_keys_of_other_managers() -> None:
    managed = [owned("kubectl", {"f:metadata": {"f:annotations": {".": {}, "f:a/b": {}}}})]
    rules = load_rules([{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["kubectl"]}])
    out = await apply_rules(rules, deployment(), managed)
    assert out is not None
    assert out["metadata"]["annotations"] == {"keep": "2"}


async def test_set_items_named_by_value() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "finalizers": ["a.io/x", "b.io/y"]},
    }
    managed = [owned("other", {"f:metadata": {"f:finalizers": {"v:" + json.dumps("b.io/y"): {}}}})]
    rules = load_rules([{"kind": "ConfigMap", "managedFieldsManagers": ["other"]}])
    out = await apply_rules(rules, obj, managed)
    assert out is not None
    assert out["metadata"]["finalizers"] == ["a.io/x"]


async def test_the_input_is_never_changed() -> None:
    original = deployment()
    rules = load_rules(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec"],
                "jqPathExpressions": [".metadata"],
            }
        ]
    )
    assert await apply_rules(rules, original) == {"apiVersion": "apps/v1", "kind": "Deployment"}
    assert original == deployment()
