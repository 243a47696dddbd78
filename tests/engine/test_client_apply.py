"""Client-side apply's three-way merge patch (plain dicts; the cluster tests are in tests/engine)."""

from __future__ import annotations

import json
from typing import Any

from gitward.engine.diff.client_apply import last_applied_text, patch_for, with_last_applied

LAST = "kubectl.kubernetes.io/last-applied-configuration"


def config_map(data: dict[str, str], **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": labels},
        "data": data,
    }


def applied(obj: dict[str, Any], **extra_labels: str) -> dict[str, Any]:
    """`obj` as the cluster holds it after a client-side apply, plus labels someone else added."""
    live = with_last_applied(obj)
    if extra_labels:
        live["metadata"]["labels"] = {**live["metadata"]["labels"], **extra_labels}
    live["metadata"]["resourceVersion"] = "7"
    return live


def test_an_unchanged_manifest_needs_no_patch() -> None:
    desired = config_map({"a": "1"}, team="shop")

    assert patch_for(desired, applied(desired, owner="ops")) == {}


def test_dropped_fields_are_removed_changed_ones_set_and_foreign_ones_kept() -> None:
    before = config_map({"a": "1", "b": "2"}, team="shop", tier="front")
    after = config_map({"a": "10"}, team="shop")

    patch = patch_for(after, applied(before, owner="ops"))

    assert patch["data"] == {"a": "10", "b": None}
    assert patch["metadata"]["labels"] == {"tier": None}
    assert json.loads(patch["metadata"]["annotations"][LAST]) == after


def test_without_a_record_nothing_is_removed() -> None:
    live = config_map({"a": "1", "b": "2"})

    patch = patch_for(config_map({"a": "1"}), live)

    assert "data" not in patch
    assert json.loads(patch["metadata"]["annotations"][LAST])["data"] == {"a": "1"}


def test_a_list_whose_item_lost_a_field_is_sent_whole() -> None:
    def pod(env: list[dict[str, str]] | None) -> dict[str, Any]:
        container: dict[str, Any] = {"name": "app", "image": "x"}
        if env is not None:
            container["env"] = env
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p"},
            "spec": {"containers": [container]},
        }

    live = applied(pod([{"name": "A", "value": "1"}]))
    # The server filled a default in; an unchanged list is still not sent.
    live["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    assert patch_for(pod([{"name": "A", "value": "1"}]), live) == {}

    patch = patch_for(pod(None), live)

    assert patch["spec"] == {"containers": [{"name": "app", "image": "x"}]}


def test_a_secret_records_keys_without_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="},
    }

    recorded = json.loads(last_applied_text(secret))

    assert recorded["data"] == {"password": ""}
    assert "aHVudGVyMg==" not in last_applied_text(secret)
    # A removed key is still removed; a changed value is still sent.
    live = applied(secret)
    live["data"] = {"password": "aHVudGVyMg==", "old": "eA=="}
    live["metadata"]["annotations"][LAST] = last_applied_text(
        {**secret, "data": {"password": "x", "old": "y"}}
    )
    patch = patch_for({**secret, "data": {"password": "bmV3"}}, live)
    assert patch["data"] == {"password": "bmV3", "old": None}
