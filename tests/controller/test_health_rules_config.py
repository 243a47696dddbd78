"""Health rules as the controller reads them: gitward-cm keys and AppProject healthRules (plain dicts)."""

from __future__ import annotations

from gitward.controller.health_rules import from_config_map, from_project
from gitward.model.health import HealthStatus
from gitward.model.project import AppProject

WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "status": {"phase": "Failed", "reason": "disk"}}


def test_keys_name_the_group_and_kind_and_a_core_kind_has_no_group() -> None:
    rules, problems = from_config_map(
        {
            "resource.customizations.health.example.com_Widget": (
                "degraded: \"object.status.phase == 'Failed'\"\nmessage: object.status.reason\n"
            ),
            "resource.customizations.health.ConfigMap": "healthy: 'true'",
            "url": "https://gitward.example",  # other settings are not rules
        }
    )

    assert problems == []
    assert sorted(rules) == [("", "ConfigMap"), ("example.com", "Widget")]
    verdict = rules[("example.com", "Widget")].evaluate(WIDGET)
    assert (verdict.status, verdict.message) == (HealthStatus.degraded, "disk")


def test_a_broken_rule_is_reported_by_its_key_and_the_others_load() -> None:
    rules, problems = from_config_map(
        {
            "resource.customizations.health.apps_Deployment": "healthy: 'object.status.(('",
            "resource.customizations.health.example.com_Widget": "healthy: [not, a, string]",
            "resource.customizations.health.example.com_Gadget": "healthy: 'true'\nhealth: 'true'",
            "resource.customizations.health.example.com_Gizmo": "healthy: {unclosed",
            "resource.customizations.health.ConfigMap": "healthy: 'true'",
        }
    )

    assert list(rules) == [("", "ConfigMap")]
    assert len(problems) == 4
    assert problems[0].startswith("gitward-cm resource.customizations.health.apps_Deployment: health rule")
    assert "unknown keys health" in problems[1]
    assert "not valid YAML at line 1" in problems[2]
    assert "non-empty CEL string" in problems[3]


def test_a_projects_rules_compile_and_a_broken_one_names_its_index() -> None:
    project = AppProject.from_dict(
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team"},
            "spec": {
                "healthRules": [
                    {"group": "example.com", "kind": "Widget", "degraded": "object.status.phase == 'Failed'"},
                    {"kind": "ConfigMap", "healthy": "object.data.(("},
                    {"kind": "Secret"},
                ]
            },
        }
    )

    rules, problems = from_project(project)

    assert list(rules) == [("example.com", "Widget")]
    assert rules[("example.com", "Widget")].evaluate(WIDGET).status is HealthStatus.degraded
    assert problems[0].startswith("project team healthRules[1]: health rule ConfigMap, healthy:")
    assert problems[1] == (
        "project team healthRules[2]: health rule Secret: "
        "needs at least one of healthy, progressing, degraded"
    )
