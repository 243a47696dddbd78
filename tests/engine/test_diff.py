"""Normalisation, Secret masking and the unified diff, with plain dicts."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.diff.normalize import mask_secrets, normalize, unified


def live_deployment(replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "ns",
            "uid": "1234",
            "resourceVersion": "99",
            "generation": 4,
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "gitward"}],
            "labels": {"app": "web"},
        },
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": 1},
    }


def secret(**data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "ns"},
        "data": encoded,
    }


def test_normalize_strips_what_the_server_owns_and_keeps_intent() -> None:
    original = live_deployment()
    assert normalize(original) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"replicas": 2},
    }
    assert original["metadata"]["uid"] == "1234"  # the caller's object is untouched


def test_bookkeeping_and_status_churn_give_no_diff() -> None:
    desired = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"replicas": 2},
    }
    churned = live_deployment() | {"status": {"readyReplicas": 2}}
    churned["metadata"]["resourceVersion"] = "100"
    assert unified(desired, churned, "apps/Deployment/ns/web") == ""


def test_a_real_change_shows_exactly_that_field() -> None:
    text = unified(normalize(live_deployment(replicas=3)), live_deployment(replicas=2), "web")
    changed = [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ["-  replicas: 2", "+  replicas: 3"]


def test_secret_values_never_appear_and_changes_still_show() -> None:
    desired, live = secret(user="admin", password="n3w-pa55"), secret(user="admin", password="old-pa55")
    text = unified(desired, live, "Secret/ns/creds")
    for value in ("admin", "n3w-pa55", "old-pa55"):
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text
    changed = [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2  # the password line on each side; the equal user value is not reported
    assert all("password" in line for line in changed)


def test_equal_values_share_a_mask_and_distinct_values_do_not() -> None:
    masked_desired, masked_live = mask_secrets(secret(a="x", b="y"), secret(a="x", b="z"))
    assert masked_desired is not None
    assert masked_live is not None
    assert masked_desired["data"]["a"] == masked_live["data"]["a"]
    assert len({masked_desired["data"]["b"], masked_live["data"]["b"], masked_live["data"]["a"]}) == 3
    assert all(
        set(v) == {"+"} and len(v) >= 8
        for v in [*masked_desired["data"].values(), *masked_live["data"].values()]
    )


def test_kubectl_last_applied_annotation_of_a_secret_is_masked() -> None:
    live = secret(token="t0k3n")
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": '{"stringData":{"token":"t0k3n"}}'
    }
    text = unified(secret(token="t0k3n"), live, "Secret/ns/creds")
    assert "t0k3n" not in text
    assert "last-applied-configuration" in text


def test_a_secret_that_only_exists_on_one_side_is_masked() -> None:
    created = unified(secret(key="s3cr3t"), None, "Secret/ns/creds")
    deleted = unified(None, secret(key="s3cr3t"), "Secret/ns/creds")
    for text in (created, deleted):
        assert "key: ++++++++" in text
        assert "s3cr3t" not in text


def test_other_kinds_are_not_masked() -> None:
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"mode": "fast"}}
    desired, _ = mask_secrets(config, None)
    assert desired == config


@given(
    st.dictionaries(st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=12), max_size=5),
    st.dictionaries(st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=12), max_size=5),
)
def test_masking_keeps_equality_and_hides_every_value(left: dict[str, str], right: dict[str, str]) -> None:
    a, b = secret(**left), secret(**right)
    masked_a, masked_b = mask_secrets(a, b)
    assert masked_a is not None
    assert masked_b is not None
    for key in set(left) & set(right):
        assert (masked_a["data"][key] == masked_b["data"][key]) == (left[key] == right[key])
    for masked in (masked_a, masked_b):
        assert all(set(v) == {"+"} for v in masked["data"].values())
