"""An app's health is the worst of its resources' health, whatever their order."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gitward.engine.health.assess import aggregate
from gitward.model.health import Health, HealthStatus

PLAIN: dict[str, Any] = {"metadata": {}}
HOOK: dict[str, Any] = {"metadata": {"annotations": {"argocd.argoproj.io/hook": "PreSync"}}}

healths = st.builds(Health, st.sampled_from(list(HealthStatus)), st.text(max_size=3))
members = st.lists(st.tuples(st.sampled_from([PLAIN, HOOK]), st.one_of(st.none(), healths)), max_size=12)


def test_severity_order_is_the_documented_one() -> None:
    names = [s.value for s in sorted(HealthStatus, key=lambda s: s.severity)]
    assert names == ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]


@given(members, st.randoms())
def test_aggregation_does_not_depend_on_order(
    items: list[tuple[dict[str, Any], Health | None]], rnd: Any
) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert aggregate(items) == aggregate(shuffled)


@given(members)
def test_never_better_than_its_worst_counted_member(
    items: list[tuple[dict[str, Any], Health | None]],
) -> None:
    counted = [h for o, h in items if h is not None and o is PLAIN]
    result = aggregate(items)
    if not counted:
        assert result is None
        return
    assert result is not None
    assert result in counted
    present = [h for h in counted if h.status is not HealthStatus.missing]
    assert all(result.status.severity >= h.status.severity for h in present)


def test_hooks_and_missing_resources_do_not_decide() -> None:
    healthy = Health(HealthStatus.healthy)
    failed_hook = Health(HealthStatus.degraded, "hook failed")
    missing = Health(HealthStatus.missing)
    assert aggregate([(PLAIN, healthy), (HOOK, failed_hook), (PLAIN, missing)]) == healthy
    assert aggregate([(PLAIN, missing), (PLAIN, None)]) == missing


def test_degraded_wins_over_progressing() -> None:
    degraded = Health(HealthStatus.degraded, "CrashLoopBackOff")
    items = [
        (PLAIN, Health(HealthStatus.progressing)),
        (PLAIN, degraded),
        (PLAIN, Health(HealthStatus.healthy)),
    ]
    assert aggregate(items) == degraded
