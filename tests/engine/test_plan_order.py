"""The order of a sync: phases, waves, kinds, names; hooks and their delete policies."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.options import parse
from gitward.engine.sync.plan import plan
from gitward.engine.sync.prune import interleave, prune_plan
from gitward.model.resource import ResourceKey
from gitward.model.sync import (
    DeletePolicy,
    HookType,
    Phase,
    PlannedStep,
    PropagationPolicy,
    PrunePlan,
    PruneStep,
    SyncSpecError,
    Wave,
)

API_VERSIONS = {
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "CustomResourceDefinition": "apiextensions.k8s.io/v1",
    "Widget": "example.com/v1",
}


def obj(kind: str, name: str, namespace: str | None = "shop", **annotations: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "annotations": annotations}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSIONS.get(kind, "v1"), "kind": kind, "metadata": metadata}


def names(steps: tuple[PlannedStep, ...]) -> list[str]:
    return [f"{s.phase}:{s.key.kind}/{s.key.name}" for s in steps]


def test_phases_run_pre_sync_then_sync_then_post_sync() -> None:
    result = plan(
        [
            obj("Job", "smoke-test", **{"gitward.dev/hook": "PostSync"}),
            obj("Deployment", "web"),
            obj("Job", "migrate", **{"argocd.argoproj.io/hook": "PreSync"}),
            obj("Job", "report", **{"gitward.dev/hook": "Sync"}),
        ]
    )
    assert names(result.steps) == [
        "PreSync:Job/migrate",
        "Sync:Deployment/web",
        "Sync:Job/report",
        "PostSync:Job/smoke-test",
    ]
    assert [s.hook for s in result.steps] == [HookType.pre_sync, None, HookType.sync, HookType.post_sync]


def test_sync_fail_hooks_are_kept_apart_for_a_failed_sync() -> None:
    result = plan([obj("Job", "notify", **{"gitward.dev/hook": "SyncFail"}), obj("Deployment", "web")])
    assert names(result.steps) == ["Sync:Deployment/web"]
    assert [names(w.steps) for w in result.sync_fail] == [["SyncFail:Job/notify"]]


def test_waves_order_within_a_phase_and_may_be_negative() -> None:
    result = plan(
        [
            obj("ConfigMap", "late", **{"gitward.dev/sync-wave": "5"}),
            obj("ConfigMap", "early", **{"argocd.argoproj.io/sync-wave": "-2"}),
            obj("ConfigMap", "plain"),
        ]
    )
    assert [(w.number, [s.key.name for s in w.steps]) for w in result.waves] == [
        (-2, ["early"]),
        (0, ["plain"]),
        (5, ["late"]),
    ]


def test_our_wave_annotation_wins_over_argo_cds() -> None:
    result = plan(
        [obj("ConfigMap", "a", **{"gitward.dev/sync-wave": "1", "argocd.argoproj.io/sync-wave": "9"})]
    )
    assert result.steps[0].wave == 1


def test_helm_hook_weight_is_the_wave_when_no_sync_wave_is_given() -> None:
    result = plan([obj("Job", "migrate", **{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-5"})])
    assert (result.steps[0].phase, result.steps[0].wave) == (Phase.pre_sync, -5)


@pytest.mark.parametrize("wave", ["one", "1.5", "", "0x10"])
def test_a_wave_that_is_not_an_integer_is_an_error_naming_the_object(wave: str) -> None:
    with pytest.raises(SyncSpecError, match=r"ConfigMap shop/settings: annotation gitward.dev/sync-wave"):
        plan([obj("ConfigMap", "settings", **{"gitward.dev/sync-wave": wave})])


# REFERENCE §2, written out here rather than imported, so a slip in the code cannot agree with itself.
DOCUMENTED_KIND_ORDER = [
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
]


def test_within_a_wave_kinds_follow_the_documented_order_then_other_kinds() -> None:
    objects = [obj(kind, "x") for kind in ["Widget", *reversed(DOCUMENTED_KIND_ORDER)]]
    result = plan(objects)
    assert [s.key.kind for s in result.steps] == [*DOCUMENTED_KIND_ORDER, "Widget"]
    assert len(result.waves) == 1


def test_other_kinds_come_after_the_known_ones_ordered_by_name() -> None:
    result = plan([obj("Widget", "b"), obj("Gadget", "c"), obj("APIService", "z", None), obj("Gadget", "a")])
    assert [(s.key.kind, s.key.name) for s in result.steps] == [
        ("APIService", "z"),
        ("Gadget", "a"),
        ("Widget", "b"),
        ("Gadget", "c"),
    ]


def test_same_kind_is_ordered_by_name() -> None:
    result = plan([obj("Service", "b"), obj("Service", "c"), obj("Service", "a")])
    assert [s.key.name for s in result.steps] == ["a", "b", "c"]


def test_skip_is_never_applied_and_is_reported() -> None:
    result = plan([obj("ConfigMap", "draft", **{"gitward.dev/hook": "Skip"}), obj("ConfigMap", "live")])
    assert [s.key.name for s in result.steps] == ["live"]
    assert [(i.key.name, "Skip" in i.reason) for i in result.ignored] == [("draft", True)]


def test_deletion_hooks_are_not_applied_by_a_sync_and_are_reported() -> None:
    result = plan([obj("Job", "cleanup", **{"argocd.argoproj.io/hook": "PostDelete"})])
    assert result.steps == ()
    assert "only when the app is deleted" in result.ignored[0].reason


def test_a_sync_hook_that_is_also_a_deletion_hook_runs_in_its_sync_phase() -> None:
    result = plan([obj("Job", "check", **{"gitward.dev/hook": "PreDelete,PreSync"})])
    assert names(result.steps) == ["PreSync:Job/check"]


def test_a_hook_for_two_phases_runs_in_both() -> None:
    result = plan([obj("Job", "check", **{"gitward.dev/hook": "PostSync,PreSync"})])
    assert names(result.steps) == ["PreSync:Job/check", "PostSync:Job/check"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("PreSynk", "unknown hook 'PreSynk'"),
        ("Skip,PreSync", "Skip cannot be combined"),
        ("", "is empty"),
    ],
)
def test_an_unreadable_hook_annotation_is_an_error_naming_the_object(value: str, message: str) -> None:
    with pytest.raises(SyncSpecError, match=rf"Job shop/migrate: annotation gitward.dev/hook.*{message}"):
        plan([obj("Job", "migrate", **{"gitward.dev/hook": value})])


@pytest.mark.parametrize(
    ("helm", "phase"),
    [
        ("pre-install", Phase.pre_sync),
        ("pre-upgrade", Phase.pre_sync),
        ("post-install", Phase.post_sync),
        ("post-upgrade", Phase.post_sync),
        ("pre-install,pre-upgrade", Phase.pre_sync),
        ("post-delete,post-upgrade", Phase.post_sync),
    ],
)
def test_helm_hooks_map_to_phases(helm: str, phase: Phase) -> None:
    (step,) = plan([obj("Job", "h", **{"helm.sh/hook": helm})]).steps
    assert step.phase is phase
    assert step.is_hook


@pytest.mark.parametrize("helm", ["pre-delete", "post-rollback", "test"])
def test_helm_hooks_without_a_phase_are_not_applied_and_are_reported(helm: str) -> None:
    result = plan([obj("Pod", "h", **{"helm.sh/hook": helm})])
    assert result.steps == ()
    assert [i.key.name for i in result.ignored] == ["h"]
    assert helm in result.ignored[0].reason


def test_helm_crd_install_is_an_ordinary_resource() -> None:
    (step,) = plan(
        [obj("CustomResourceDefinition", "widgets.example.com", None, **{"helm.sh/hook": "crd-install"})]
    ).steps
    assert (step.phase, step.is_hook) == (Phase.sync, False)


def test_an_unknown_helm_hook_is_an_error() -> None:
    with pytest.raises(SyncSpecError, match="unknown Helm hook 'pre-instal'"):
        plan([obj("Job", "h", **{"helm.sh/hook": "pre-instal"})])


def test_our_hook_annotation_wins_over_helms() -> None:
    (step,) = plan([obj("Job", "h", **{"gitward.dev/hook": "Sync", "helm.sh/hook": "pre-install"})]).steps
    assert step.phase is Phase.sync


def test_hooks_are_deleted_before_they_are_created_again_by_default() -> None:
    (step,) = plan([obj("Job", "h", **{"gitward.dev/hook": "PreSync"})]).steps
    assert step.delete_policies == {DeletePolicy.before_hook_creation}


def test_delete_policies_from_our_annotation_and_helms_are_combined() -> None:
    hook = obj(
        "Job",
        "h",
        **{
            "argocd.argoproj.io/hook": "PreSync",
            "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            "helm.sh/hook-delete-policy": "hook-failed,before-hook-creation",
        },
    )
    (step,) = plan([hook]).steps
    assert step.delete_policies == set(DeletePolicy)


@pytest.mark.parametrize(
    ("annotation", "value"),
    [("gitward.dev/hook-delete-policy", "HookSucceded"), ("helm.sh/hook-delete-policy", "succeeded")],
)
def test_an_unknown_delete_policy_is_an_error(annotation: str, value: str) -> None:
    with pytest.raises(SyncSpecError, match=f"unknown delete policy '{value}'"):
        plan([obj("Job", "h", **{"gitward.dev/hook": "PreSync", annotation: value})])


def test_ordinary_resources_have_no_delete_policy() -> None:
    (step,) = plan([obj("ConfigMap", "c")]).steps
    assert step.delete_policies == frozenset()


def test_the_same_object_twice_is_an_error() -> None:
    with pytest.raises(SyncSpecError, match="ConfigMap shop/c is declared twice"):
        plan([obj("ConfigMap", "c"), obj("ConfigMap", "c")])


def test_unnamed_hooks_with_generate_name_are_all_kept() -> None:
    hooks = [obj("Job", "", **{"gitward.dev/hook": "PreSync"}) for _ in range(2)]
    for i, hook in enumerate(hooks):
        del hook["metadata"]["name"]
        hook["metadata"]["generateName"] = "migrate-"
        hook["spec"] = {"step": i}
    assert len(plan(hooks).steps) == 2


def test_each_step_carries_its_own_options_over_the_apps() -> None:
    app = parse(["Replace=true", "PrunePropagationPolicy=background"])
    result = plan(
        [obj("ConfigMap", "a"), obj("ConfigMap", "b", **{"gitward.dev/sync-options": "Replace=false"})], app
    )
    by_name = {s.key.name: s.options for s in result.steps}
    assert (by_name["a"].replace, by_name["b"].replace) == (True, False)
    assert by_name["b"].prune_propagation_policy is PropagationPolicy.background


def test_a_namespace_is_created_in_time_for_a_pre_sync_hook_that_runs_in_it() -> None:
    result = plan(
        [
            obj("Namespace", "shop", None, **{"gitward.dev/sync-wave": "3"}),
            obj("Job", "migrate", "shop", **{"gitward.dev/hook": "PreSync", "gitward.dev/sync-wave": "-1"}),
            obj("Deployment", "web", "shop", **{"gitward.dev/sync-wave": "3"}),
        ]
    )
    assert names(result.steps) == ["PreSync:Namespace/shop", "PreSync:Job/migrate", "Sync:Deployment/web"]
    assert result.steps[0].wave == -1


def test_a_crd_is_created_before_the_first_custom_resource_of_its_kind() -> None:
    crd = obj("CustomResourceDefinition", "widgets.example.com", None, **{"gitward.dev/sync-wave": "2"})
    crd["spec"] = {"group": "example.com", "names": {"kind": "Widget"}}
    result = plan([crd, obj("Widget", "w", **{"gitward.dev/sync-wave": "1"})])
    assert [(s.key.kind, s.wave) for s in result.steps] == [("CustomResourceDefinition", 1), ("Widget", 1)]


def test_a_namespace_declared_earlier_than_needed_is_not_moved() -> None:
    result = plan([obj("Namespace", "shop", None, **{"gitward.dev/sync-wave": "-3"}), obj("ConfigMap", "c")])
    assert [(s.key.kind, s.wave) for s in result.steps] == [("Namespace", -3), ("ConfigMap", 0)]


# Property tests over generated manifests.

kinds = st.sampled_from(["Namespace", "ConfigMap", "Deployment", "Service", "Job", "Widget", "Secret"])
hook_values = st.sampled_from(["", "PreSync", "Sync", "PostSync", "SyncFail", "Skip", "helm:pre-install"])


@st.composite
def manifests(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 15))
    seen: set[tuple[str, str, str]] = set()
    out = []
    for _ in range(count):
        kind = draw(kinds)
        name = draw(st.sampled_from(["a", "b", "c", "d", "shop"]))
        namespace = None if kind == "Namespace" else draw(st.sampled_from(["shop", "web"]))
        if (kind, namespace or "", name) in seen:
            continue
        seen.add((kind, namespace or "", name))
        annotations: dict[str, str] = {}
        wave = draw(st.one_of(st.none(), st.integers(-3, 3)))
        if wave is not None:
            annotations["gitward.dev/sync-wave"] = str(wave)
        hook = draw(hook_values)
        if hook.startswith("helm:"):
            annotations["helm.sh/hook"] = hook.removeprefix("helm:")
        elif hook:
            annotations["gitward.dev/hook"] = hook
        out.append(obj(kind, name, namespace, **annotations))
    return out


def is_skipped(o: dict[str, Any]) -> bool:
    return bool(o["metadata"]["annotations"].get("gitward.dev/hook") == "Skip")


@given(manifests())
def test_the_plan_holds_every_object_that_is_not_skipped_exactly_once(objects: list[dict[str, Any]]) -> None:
    result = plan(objects)
    planned = [s.key for s in result.steps] + [s.key for w in result.sync_fail for s in w.steps]
    assert sorted(planned) == sorted(ResourceKey.of(o) for o in objects if not is_skipped(o))
    assert sorted(i.key for i in result.ignored) == sorted(
        ResourceKey.of(o) for o in objects if is_skipped(o)
    )


@given(manifests(), st.randoms())
def test_the_plan_does_not_depend_on_the_order_objects_are_listed_in(
    objects: list[dict[str, Any]], rnd: Any
) -> None:
    shuffled = list(objects)
    rnd.shuffle(shuffled)
    assert plan(shuffled) == plan(objects)


@given(manifests())
def test_waves_run_in_phase_then_wave_order_and_each_is_one_phase_and_number(
    objects: list[dict[str, Any]],
) -> None:
    result = plan(objects)
    slots = [(w.phase.rank, w.number) for w in result.waves]
    assert slots == sorted(set(slots))
    for wave in (*result.waves, *result.sync_fail):
        assert wave.steps
        assert {(s.phase, s.wave) for s in wave.steps} == {(wave.phase, wave.number)}
    assert all(w.phase is not Phase.sync_fail for w in result.waves)
    assert all(w.phase is Phase.sync_fail for w in result.sync_fail)


@given(manifests())
def test_a_namespace_in_the_plan_never_comes_after_an_object_in_it(objects: list[dict[str, Any]]) -> None:
    steps = plan(objects).steps
    created = {s.key.name: i for i, s in enumerate(steps) if s.key.kind == "Namespace" and not s.is_hook}
    for i, step in enumerate(steps):
        if step.key.namespace in created:
            assert created[step.key.namespace] < i


def _prune_step(wave: int, name: str, *, last: bool = False) -> PruneStep:
    key = ResourceKey("", "ConfigMap", "shop", name)
    return PruneStep(key=key, wave=wave, propagation=PropagationPolicy.foreground, uid=None, prune_last=last)


def _stages(objects: list[dict[str, Any]], pruned: list[dict[str, Any]]) -> list[str]:
    """The order a sync runs: `apply <phase> <wave>` or `prune <names>`."""
    live = [
        {
            **o,
            "metadata": {
                **o["metadata"],
                "annotations": {
                    **o["metadata"]["annotations"],
                    "gitward.dev/tracking-id": f"app:/ConfigMap:shop/{o['metadata']['name']}",
                },
            },
        }
        for o in pruned
    ]
    decided = prune_plan("app", [ResourceKey.of(o) for o in objects], live)
    out = []
    for stage in interleave(plan(objects).waves, decided):
        if isinstance(stage, Wave):
            out.append(f"apply {stage.phase} {stage.number}")
        else:
            out.append("prune " + ",".join(s.key.name for s in stage))
    return out


def test_prunes_take_the_place_of_their_wave_in_reverse_before_that_waves_applies() -> None:
    wave = "gitward.dev/sync-wave"
    objects = [obj("ConfigMap", f"keep{n}", **{wave: str(n)}) for n in (0, 1, 2, 3)]
    pruned = [obj("ConfigMap", f"old{n}", **{wave: str(n)}) for n in (0, 1, 3)]

    # Prune waves 0, 1, 3 reversed: wave 3's object goes at 0, wave 1's stays at 1, wave 0's at 3.
    assert _stages(objects, pruned) == [
        "prune old3",
        "apply Sync 0",
        "prune old1",
        "apply Sync 1",
        "apply Sync 2",
        "prune old0",
        "apply Sync 3",
    ]


def test_prune_last_runs_after_every_sync_wave_and_everything_before_post_sync() -> None:
    wave = "gitward.dev/sync-wave"
    objects = [
        obj("ConfigMap", "a", **{wave: "0"}),
        obj("ConfigMap", "b", **{wave: "1"}),
        obj("Job", "smoke", **{"gitward.dev/hook": "PostSync"}),
        obj("Job", "migrate", **{"gitward.dev/hook": "PreSync"}),
    ]
    pruned = [
        obj("ConfigMap", "late", **{wave: "5"}),
        obj("ConfigMap", "last", **{wave: "-3", "gitward.dev/sync-options": "PruneLast=true"}),
    ]

    assert _stages(objects, pruned) == [
        "apply PreSync 0",
        "apply Sync 0",
        "apply Sync 1",
        "prune late",
        "prune last",
        "apply PostSync 0",
    ]


def test_without_sync_waves_prunes_still_follow_pre_sync_hooks() -> None:
    objects = [obj("Job", "migrate", **{"gitward.dev/hook": "PreSync"})]
    pruned = [obj("ConfigMap", "old")]

    assert _stages(objects, pruned) == ["apply PreSync 0", "prune old"]


def test_interleave_keeps_every_wave_and_group_once() -> None:
    groups = ((_prune_step(4, "d"),), (_prune_step(2, "b"),), (_prune_step(0, "z", last=True),))
    waves = plan([obj("ConfigMap", "a", **{"gitward.dev/sync-wave": str(n)}) for n in (1,)]).waves

    stages = interleave(waves, PrunePlan(groups=groups))

    assert len(stages) == len(waves) + len(groups)
    assert stages[-1] == groups[-1]
