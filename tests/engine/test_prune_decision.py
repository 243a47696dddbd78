"""What a sync deletes, and above all what it never deletes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.options import parse
from gitward.engine.sync.prune import prune_plan
from gitward.engine.tracking import stamp
from gitward.model.resource import ResourceKey
from gitward.model.sync import PropagationPolicy, SharedResourceError

APP = "guestbook"
API_VERSIONS = {"Deployment": "apps/v1", "Job": "batch/v1"}


def live(
    kind: str, name: str, app: str | None = APP, namespace: str | None = "shop", **annotations: str
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": annotations, "uid": f"uid-{kind}-{name}"}
    if namespace is not None:
        metadata["namespace"] = namespace
    obj = {"apiVersion": API_VERSIONS.get(kind, "v1"), "kind": kind, "metadata": metadata}
    return stamp(obj, app) if app is not None else obj


def key(obj: dict[str, Any]) -> ResourceKey:
    return ResourceKey.of(obj)


def pruned(plan_groups: Any) -> list[str]:
    return [f"{s.key.kind}/{s.key.name}" for s in plan_groups.steps]


def test_an_object_removed_from_git_is_pruned() -> None:
    kept, removed = live("ConfigMap", "kept"), live("ConfigMap", "removed")
    result = prune_plan(APP, [key(kept)], [kept, removed])
    assert pruned(result) == ["ConfigMap/removed"]
    (step,) = result.steps
    assert step.uid == "uid-ConfigMap-removed"
    assert step.propagation is PropagationPolicy.foreground


def test_objects_of_another_app_and_untracked_objects_are_never_pruned() -> None:
    ours = live("ConfigMap", "ours")
    result = prune_plan(
        APP, [key(ours)], [ours, live("ConfigMap", "theirs", app="billing"), live("Secret", "x", None)]
    )
    assert result.steps == ()
    assert result.kept == ()


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "web-copy"), ("namespace", "staging"), ("kind", "Secret"), ("apiVersion", "example.com/v1")],
)
def test_a_copy_carrying_a_copied_tracking_id_is_never_pruned(field: str, value: str) -> None:
    original = live("ConfigMap", "web")
    copy_ = live("ConfigMap", "web")
    if field in ("name", "namespace"):
        copy_["metadata"][field] = value
    else:
        copy_[field] = value
    assert prune_plan(APP, [key(original)], [original, copy_]).steps == ()


def test_an_object_another_app_now_declares_is_shared_and_left_alone() -> None:
    stays, moved = live("ConfigMap", "stays"), live("ConfigMap", "moved")
    result = prune_plan(APP, [key(stays)], [stays, moved], claimed_by_others={key(moved): ["billing"]})
    assert result.steps == ()
    assert result.shared == (key(moved),)


def test_fail_on_shared_resource_makes_a_shared_object_an_error() -> None:
    stays, moved = live("ConfigMap", "stays"), live("ConfigMap", "moved")
    with pytest.raises(SharedResourceError, match="ConfigMap shop/moved"):
        prune_plan(
            APP,
            [key(stays)],
            [stays, moved],
            parse(["FailOnSharedResource=true"]),
            claimed_by_others={key(moved): {"billing"}},
        )


def test_a_claim_by_this_same_app_does_not_make_an_object_shared() -> None:
    stays, removed = live("ConfigMap", "stays"), live("ConfigMap", "removed")
    result = prune_plan(APP, [key(stays)], [stays, removed], claimed_by_others={key(removed): [APP]})
    assert pruned(result) == ["ConfigMap/removed"]


def test_an_empty_revision_prunes_nothing_without_allow_empty() -> None:
    objects = [live("ConfigMap", "a"), live("Deployment", "web")]
    result = prune_plan(APP, [], objects)
    assert result.steps == ()
    assert sorted(k.key.name for k in result.kept) == ["a", "web"]
    assert all("allowEmpty" in k.reason for k in result.kept)


def test_an_empty_revision_prunes_everything_with_allow_empty() -> None:
    objects = [live("ConfigMap", "a"), live("Deployment", "web")]
    assert sorted(pruned(prune_plan(APP, [], objects, allow_empty=True))) == ["ConfigMap/a", "Deployment/web"]


@pytest.mark.parametrize("annotation", ["gitward.dev/sync-options", "argocd.argoproj.io/sync-options"])
def test_prune_false_on_the_live_object_keeps_it_and_reports_it(annotation: str) -> None:
    anchor = live("ConfigMap", "anchor")
    keep = live("PersistentVolumeClaim", "data", **{annotation: "Prune=false"})
    result = prune_plan(APP, [key(anchor)], [anchor, keep])
    assert result.steps == ()
    assert [(k.key.name, k.reason) for k in result.kept] == [("data", "Prune=false")]


def test_prune_false_app_wide_keeps_everything_unless_a_resource_says_otherwise() -> None:
    anchor = live("ConfigMap", "anchor")
    objects = [
        anchor,
        live("ConfigMap", "kept"),
        live("ConfigMap", "go", **{"gitward.dev/sync-options": "Prune=true"}),
    ]
    result = prune_plan(APP, [key(anchor)], objects, parse(["Prune=false"]))
    assert pruned(result) == ["ConfigMap/go"]
    assert [k.key.name for k in result.kept] == ["kept"]


def test_unreadable_annotations_on_a_live_object_keep_it() -> None:
    anchor = live("ConfigMap", "anchor")
    odd = live("ConfigMap", "odd", **{"gitward.dev/sync-wave": "soon"})
    result = prune_plan(APP, [key(anchor)], [anchor, odd])
    assert result.steps == ()
    assert [k.key.name for k in result.kept] == ["odd"]
    assert "sync-wave" in result.kept[0].reason


def test_hooks_are_left_to_their_delete_policies() -> None:
    anchor = live("ConfigMap", "anchor")
    hooks = [
        live("Job", "migrate-x7k2", **{"gitward.dev/hook": "PreSync"}),
        live("Job", "old", **{"helm.sh/hook": "post-install"}),
        live("Job", "odd", **{"argocd.argoproj.io/hook": "Whenever"}),
    ]
    assert prune_plan(APP, [key(anchor)], [anchor, *hooks]).steps == ()


def test_pruning_runs_in_reverse_wave_order_and_prune_last_after_everything() -> None:
    anchor = live("ConfigMap", "anchor")
    objects = [
        anchor,
        live("ConfigMap", "first", **{"gitward.dev/sync-wave": "-1"}),
        live("ConfigMap", "last-wave", **{"gitward.dev/sync-wave": "4"}),
        live("ConfigMap", "at-the-end", **{"gitward.dev/sync-options": "PruneLast=true"}),
        live("ConfigMap", "middle"),
    ]
    result = prune_plan(APP, [key(anchor)], objects)
    assert [[s.key.name for s in g] for g in result.groups] == [
        ["last-wave"],
        ["middle"],
        ["first"],
        ["at-the-end"],
    ]


def test_app_wide_prune_last_still_orders_by_reverse_wave() -> None:
    anchor = live("ConfigMap", "anchor")
    objects = [anchor, live("ConfigMap", "a", **{"gitward.dev/sync-wave": "1"}), live("ConfigMap", "b")]
    result = prune_plan(APP, [key(anchor)], objects, parse(["PruneLast=true"]))
    assert [[s.key.name for s in g] for g in result.groups] == [["a"], ["b"]]
    assert all(s.prune_last for s in result.steps)


def test_within_a_wave_users_go_before_what_they_use() -> None:
    anchor = live("ConfigMap", "anchor")
    objects = [
        anchor,
        live("Namespace", "old", namespace=None),
        live("ServiceAccount", "web"),
        live("Deployment", "web"),
        live("Service", "web"),
    ]
    result = prune_plan(APP, [key(anchor)], objects, allow_empty=False)
    assert pruned(result) == ["Deployment/web", "Service/web", "ServiceAccount/web", "Namespace/old"]


def test_propagation_policy_comes_from_the_app_and_the_resource() -> None:
    anchor = live("ConfigMap", "anchor")
    objects = [
        anchor,
        live("ConfigMap", "app-wide"),
        live("ConfigMap", "own", **{"gitward.dev/sync-options": "PrunePropagationPolicy=orphan"}),
    ]
    result = prune_plan(APP, [key(anchor)], objects, parse(["PrunePropagationPolicy=background"]))
    assert {s.key.name: s.propagation for s in result.steps} == {
        "app-wide": PropagationPolicy.background,
        "own": PropagationPolicy.orphan,
    }


# Property tests: random live worlds with copies, other apps and untracked objects.

names = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def worlds(draw: st.DrawFn) -> list[dict[str, Any]]:
    objects = []
    seen = set()
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["ConfigMap", "Secret", "Deployment"]))
        name = draw(names)
        namespace = draw(st.sampled_from(["shop", "web"]))
        if (kind, namespace, name) in seen:
            continue
        seen.add((kind, namespace, name))
        app = draw(st.sampled_from([APP, "billing", None]))
        obj = live(kind, name, app=app, namespace=namespace)
        if app is not None and draw(st.booleans()):
            # A copy: the tracking id still names the object it was copied from.
            obj["metadata"]["name"] = name + "-copy"
        if draw(st.booleans()):
            obj["metadata"]["annotations"]["gitward.dev/sync-wave"] = str(draw(st.integers(-2, 2)))
        objects.append(obj)
    return objects


def names_itself_and_this_app(obj: dict[str, Any]) -> bool:
    expected = stamp(obj, APP)["metadata"]["annotations"]["gitward.dev/tracking-id"]
    return bool(obj["metadata"]["annotations"].get("gitward.dev/tracking-id") == expected)


@given(worlds(), st.lists(names, max_size=3), st.booleans())
def test_prune_only_ever_selects_objects_whose_id_names_them_and_this_app(
    objects: list[dict[str, Any]], keep: list[str], allow_empty: bool
) -> None:
    desired = [key(o) for o in objects if o["metadata"]["name"] in keep]
    by_key = {key(o): o for o in objects}
    for step in prune_plan(APP, desired, objects, allow_empty=allow_empty).steps:
        assert names_itself_and_this_app(by_key[step.key])
        assert step.key not in desired


@given(worlds())
def test_an_empty_revision_without_allow_empty_prunes_nothing(objects: list[dict[str, Any]]) -> None:
    assert prune_plan(APP, [], objects).steps == ()


@given(worlds(), st.randoms())
def test_the_prune_plan_does_not_depend_on_the_order_of_live_objects(
    objects: list[dict[str, Any]], rnd: Any
) -> None:
    shuffled = list(objects)
    rnd.shuffle(shuffled)
    assert prune_plan(APP, [], shuffled, allow_empty=True) == prune_plan(APP, [], objects, allow_empty=True)


@given(worlds())
def test_with_allow_empty_every_object_of_this_app_that_names_itself_is_pruned(
    objects: list[dict[str, Any]],
) -> None:
    selected = {s.key for s in prune_plan(APP, [], objects, allow_empty=True).steps}
    assert selected == {key(o) for o in objects if names_itself_and_this_app(o)}
