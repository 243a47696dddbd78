from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from gitward.cli import app

runner = CliRunner()


def test_render_prints_the_objects_as_yaml_or_json(tmp_path: Path) -> None:
    (tmp_path / "app" / "sub").mkdir(parents=True)
    (tmp_path / "app" / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "app" / "sub" / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n")

    as_yaml = runner.invoke(app, ["render", str(tmp_path), "--path", "app"])
    assert as_yaml.exit_code == 0, as_yaml.output
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(as_yaml.stdout)] == ["a"]

    as_json = runner.invoke(app, ["render", str(tmp_path), "--path", "app", "--recurse", "-o", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert [d["metadata"]["name"] for d in json.loads(as_json.stdout)] == ["a", "b"]


def test_validation_errors_print_file_line_column_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")
    result = runner.invoke(app, ["render", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("a.yaml:6:1: malformed YAML")
    assert lines[1] == "b.yaml:1:1: ConfigMap has no metadata.name"
