"""Tracking ids: how gitward marks the objects an app manages, and who owns a live object."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.tracking import claimed_elsewhere, format_id, owner, parse_id, refuse_shared, stamp
from gitward.model.resource import ResourceKey
from gitward.model.sync import SharedResourceError, SyncSpecError

ID = "gitward.dev/tracking-id"


def deployment(name: str = "web", namespace: str = "shop", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"replicas": 2},
    }


def test_a_namespaced_object_of_a_named_group() -> None:
    assert format_id("guestbook", ResourceKey("apps", "Deployment", "shop", "web")) == (
        "guestbook:apps/Deployment:shop/web"
    )


def test_core_group_and_cluster_scope_leave_their_parts_empty() -> None:
    assert format_id("infra", ResourceKey("", "Namespace", "", "shop")) == "infra:/Namespace:/shop"


def test_parse_gives_back_the_app_and_the_object() -> None:
    tracked = parse_id("infra:rbac.authorization.k8s.io/ClusterRole:/system:aggregate-to-view")
    assert tracked.app == "infra"
    assert tracked.key == ResourceKey(
        "rbac.authorization.k8s.io", "ClusterRole", "", "system:aggregate-to-view"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "guestbook",
        "guestbook:apps/Deployment",
        "guestbook:Deployment:shop/web",
        "guestbook:apps/Deployment:web",
        ":apps/Deployment:shop/web",
        "guestbook:apps/:shop/web",
        "guestbook:apps/Deployment:shop/",
        "guestbook:apps/Deployment:shop/web/extra",
        "guestbook:apps/v1/Deployment:shop/web",
    ],
)
def test_parse_refuses_a_malformed_id_quoting_it(text: str) -> None:
    with pytest.raises(SyncSpecError, match="malformed tracking id"):
        parse_id(text)


def test_format_refuses_parts_that_could_not_be_parsed_back() -> None:
    with pytest.raises(SyncSpecError, match="app name"):
        format_id("team:web", ResourceKey("apps", "Deployment", "shop", "web"))
    with pytest.raises(SyncSpecError, match="name must be non-empty"):
        format_id("web", ResourceKey("apps", "Deployment", "shop", ""))


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=12)


@given(
    app=segment,
    group=st.one_of(st.just(""), segment),
    kind=segment,
    namespace=st.one_of(st.just(""), segment),
    name=st.builds(
        lambda a, b: a + b, segment, st.one_of(st.just(""), st.just(":"), segment.map(":".__add__))
    ),
)
def test_format_then_parse_gives_back_the_same_object(
    app: str, group: str, kind: str, namespace: str, name: str
) -> None:
    key = ResourceKey(group, kind, namespace, name)
    tracked = parse_id(format_id(app, key))
    assert (tracked.app, tracked.key) == (app, key)


def test_stamp_adds_the_id_and_leaves_the_input_unchanged() -> None:
    original = deployment(note="keep me")
    before = copy.deepcopy(original)
    stamped = stamp(original, "guestbook")
    assert original == before
    assert stamped["metadata"]["annotations"] == {"note": "keep me", ID: "guestbook:apps/Deployment:shop/web"}
    assert stamped["spec"] == original["spec"]
    stamped["spec"]["replicas"] = 9
    assert original["spec"]["replicas"] == 2


def test_stamp_replaces_an_id_copied_from_elsewhere() -> None:
    copied = deployment(**{ID: "other:apps/Deployment:shop/api"})
    assert stamp(copied, "guestbook")["metadata"]["annotations"][ID] == "guestbook:apps/Deployment:shop/web"


def test_stamp_works_on_an_object_without_annotations() -> None:
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    assert stamp(obj, "infra")["metadata"]["annotations"] == {ID: "infra:/Namespace:/shop"}
    assert "annotations" not in obj["metadata"]


def test_stamp_refuses_an_object_without_a_name() -> None:
    obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "migrate-"}}
    with pytest.raises(SyncSpecError, match=r"metadata\.name"):
        stamp(obj, "guestbook")


def test_owner_of_a_stamped_object_is_its_app() -> None:
    assert owner(stamp(deployment(), "guestbook")) == "guestbook"


@pytest.mark.parametrize(
    "copied_to",
    [
        {"name": "web-copy"},
        {"namespace": "staging"},
        {"kind": "StatefulSet"},
        {"apiVersion": "example.com/v1"},
    ],
)
def test_a_copy_carrying_a_copied_id_has_no_owner(copied_to: dict[str, str]) -> None:
    copy_ = stamp(deployment(), "guestbook")
    for field, value in copied_to.items():
        if field in ("name", "namespace"):
            copy_["metadata"][field] = value
        else:
            copy_[field] = value
    assert owner(copy_) is None


def test_untracked_and_malformed_ids_have_no_owner() -> None:
    assert owner(deployment()) is None
    assert owner(deployment(**{ID: "not an id"})) is None


def test_desired_objects_tracked_live_by_another_app_are_reported_with_that_app() -> None:
    live = [
        stamp(deployment("web"), "other"),
        stamp(deployment("api"), "guestbook"),
        deployment("cache"),
    ]
    desired = [ResourceKey.of(deployment(n)) for n in ("web", "api", "cache")]
    shared = claimed_elsewhere("guestbook", desired, live)
    assert shared == {ResourceKey("apps", "Deployment", "shop", "web"): "other"}
    refuse_shared(shared, fail_on_shared_resource=False)
    with pytest.raises(SharedResourceError, match=r"Deployment shop/web \(tracked by other\)"):
        refuse_shared(shared, fail_on_shared_resource=True)
