"""`gitward health FILE...`: what a user sees when trying health rules offline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gitward.cli import app

runner = CliRunner()

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, generation: 2}
spec: {replicas: 2, paused: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gadget}
status: {phase: Failed, reason: out of cogs}
"""

RULES = """\
rules:
  - group: example.com
    kind: Widget
    healthy: "object.status.phase == 'Ready'"
    degraded: "object.status.phase == 'Failed'"
    message: "object.status.reason"
"""


def test_prints_health_or_null_per_document(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    result = runner.invoke(app, ["health", str(tmp_path / "app.yaml"), "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["kind"], r["name"], r["health"]) for r in rows] == [
        ("Deployment", "web", "Suspended"),
        ("ConfigMap", "settings", None),
        ("Widget", "gadget", None),
    ]
    assert rows[1]["message"] is None


def test_rules_file_gives_a_custom_resource_health(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "rules.yaml").write_text(RULES)
    result = runner.invoke(
        app, ["health", str(tmp_path / "app.yaml"), "--rules", str(tmp_path / "rules.yaml"), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    widget = json.loads(result.stdout)[2]
    assert (widget["health"], widget["message"]) == ("Degraded", "out of cogs")


def test_table_output_lists_each_object(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    result = runner.invoke(app, ["health", str(tmp_path / "app.yaml")])
    assert result.exit_code == 0, result.output
    assert "Suspended" in result.stdout
    assert "Deployment is paused" in result.stdout
    assert "settings" in result.stdout


def test_kubectl_list_output_on_stdin_is_expanded() -> None:
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}
        ],
    }
    result = runner.invoke(app, ["health", "-", "-o", "json"], input=json.dumps(listing))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"kind": "Service", "name": "s", "health": "Healthy", "message": ""}]


def test_a_broken_rule_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "rules.yaml").write_text("- {group: example.com, kind: Widget, healthy: 'object.status.('}\n")
    result = runner.invoke(
        app, ["health", str(tmp_path / "app.yaml"), "--rules", str(tmp_path / "rules.yaml")]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "health rule example.com/Widget, healthy" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_malformed_yaml_names_the_place_but_not_the_content(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("apiVersion: v1\nkind: Secret\ndata:\n  password: [hunter2\n")
    result = runner.invoke(app, ["health", str(tmp_path / "secret.yaml")])
    assert result.exit_code == 2
    assert "secret.yaml:" in result.stderr
    assert "malformed YAML" in result.stderr
    assert "hunter2" not in result.stderr


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["health", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml: cannot read" in result.stderr
