"""User-defined CEL health rules: what they decide and how a broken one is reported."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.engine.health.assess import HealthRuleError, HealthRules, assess
from gitward.model.health import Health, HealthStatus

WIDGET_RULE = {
    "group": "example.com",
    "kind": "Widget",
    "healthy": "object.status.phase == 'Ready'",
    "progressing": "object.status.phase == 'Pending'",
    "degraded": "object.status.phase == 'Failed' || object.status.retries > 3",
    "message": "has(object.status.message) ? object.status.message : ''",
}


def widget(**status: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": status}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"phase": "Ready", "retries": 0}, Health(HealthStatus.healthy, "")),
        (
            {"phase": "Pending", "retries": 0, "message": "waiting"},
            Health(HealthStatus.progressing, "waiting"),
        ),
        ({"phase": "Failed", "retries": 0, "message": "no quota"}, Health(HealthStatus.degraded, "no quota")),
        # Degraded is tried first: a broken object that also looks Ready is still broken.
        ({"phase": "Ready", "retries": 9}, Health(HealthStatus.degraded, "")),
    ],
)
def test_rule_decides_status_and_message(status: dict[str, Any], expected: Health) -> None:
    assert assess(widget(**status), HealthRules.load([WIDGET_RULE])) == expected


def test_an_object_without_status_yet_is_progressing_not_an_error() -> None:
    health = assess(widget() | {"status": {}}, HealthRules.load([WIDGET_RULE]))
    assert health is not None
    assert health.status is HealthStatus.progressing


def test_a_rule_only_applies_to_its_group_and_kind() -> None:
    rules = HealthRules.load([WIDGET_RULE])
    other = widget(phase="Failed") | {"apiVersion": "other.io/v1"}
    assert assess(other, rules) is None


def test_a_user_rule_overrides_the_builtin_rule() -> None:
    rules = HealthRules.load({"rules": [{"group": "", "kind": "Service", "degraded": "true"}]})
    health = assess({"apiVersion": "v1", "kind": "Service", "spec": {}}, rules)
    assert health is not None
    assert health.status is HealthStatus.degraded


def test_the_rule_sees_metadata_and_lists() -> None:
    rule = {
        "group": "example.com",
        "kind": "Widget",
        "healthy": "object.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')",
        "message": "object.metadata.name + ' checked'",
    }
    ready = widget(conditions=[{"type": "Ready", "status": "True"}])
    assert assess(ready, HealthRules.load([rule])) == Health(HealthStatus.healthy, "w checked")


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [
        (
            [{"group": "example.com", "kind": "Widget", "healthy": "object.status.("}],
            "example.com/Widget, healthy",
        ),
        ([{"kind": "Widget", "message": "'x'"}], "needs at least one of healthy, progressing, degraded"),
        ([{"kind": "Widget", "healty": "true"}], "unknown keys healty"),
        ([{"group": "g", "healthy": "true"}], "rules[0].kind: required"),
        ([{"kind": "Widget", "healthy": ""}], "rules[0].healthy: must be a non-empty CEL expression"),
        (
            [{"kind": "A", "healthy": "true"}, {"kind": "A", "healthy": "false"}],
            "rules[1]: a second rule for A",
        ),
        ({"kind": "A"}, "expected a list of rules"),
    ],
)
def test_a_broken_rule_is_refused_when_loaded_naming_it(rules: object, fragment: str) -> None:
    with pytest.raises(HealthRuleError, match=r"health rule") as caught:
        HealthRules.load(rules)
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [("object.status.phase", "must give true or false, gave str"), ("nosuch == 1", "nosuch")],
)
def test_a_rule_that_fails_on_an_object_names_the_rule(expression: str, fragment: str) -> None:
    rules = HealthRules.load([{"group": "example.com", "kind": "Widget", "healthy": expression}])
    with pytest.raises(HealthRuleError, match=r"health rule example.com/Widget, healthy") as caught:
        assess(widget(phase="Ready"), rules)
    assert fragment in str(caught.value)
