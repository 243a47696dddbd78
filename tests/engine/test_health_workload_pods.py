"""Which pods explain a workload's health: its selector as a label query (plain dicts)."""

from __future__ import annotations

from gitward.engine.health.workload_pods import label_selector


def test_a_workload_selector_becomes_a_label_query() -> None:
    selector = {
        "matchLabels": {"app": "web", "tier": "front"},
        "matchExpressions": [
            {"key": "track", "operator": "In", "values": ["stable", "canary"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
        ],
    }

    assert label_selector(selector) == "app=web,tier=front,track in (stable,canary),!legacy,zone"
    assert label_selector({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}) is None
    assert label_selector({}) is None
