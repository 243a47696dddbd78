from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gitward.cli import app
from gitward.local import toolchain
from gitward.local.components import Ports
from gitward.local.state import ClusterState

runner = CliRunner()


@pytest.fixture(autouse=True)
def _empty_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("GITWARD_CLUSTERS", str(tmp_path / "clusters"))


def test_toolchain_lists_every_command_with_version_path_and_built_flag(tmp_path: Path) -> None:
    result = runner.invoke(app, ["local", "toolchain", "-o", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    commands = {r["command"] for r in rows}
    assert {"kube-apiserver", "kubectl", "etcd", "kwok", "helm", "kustomize"} <= commands
    assert all(r["built"] is False for r in rows)
    assert all(r["path"].startswith(str(tmp_path / "cache")) for r in rows)


def test_status_with_no_clusters_is_an_empty_list() -> None:
    result = runner.invoke(app, ["local", "status", "-o", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_up_without_a_toolchain_and_no_build_says_how_to_build() -> None:
    result = runner.invoke(app, ["local", "up", "--no-build"])
    assert result.exit_code == 1
    assert "toolchain not built" in result.stderr
    assert "gitward local toolchain --build" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_invalid_cluster_name_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_build(*_: object) -> None:
        raise AssertionError("a refused name must not start a build")

    monkeypatch.setattr(toolchain, "ensure", no_build)
    result = runner.invoke(app, ["local", "up", "--name", "Bad_Name"])
    assert result.exit_code == 1
    assert "invalid cluster name" in result.stderr
    assert not (tmp_path / "clusters" / "Bad_Name").exists()


def test_down_of_an_unknown_cluster_says_so() -> None:
    result = runner.invoke(app, ["local", "down", "--name", "nothing-here"])
    assert result.exit_code == 0
    assert "no cluster named nothing-here" in result.stderr


def test_kubectl_passes_its_own_flags_through_untouched(tmp_path: Path) -> None:
    state = ClusterState(
        name="demo",
        ports=Ports.from_list([1, 2, 3, 4, 5, 6]),
        nodes=1,
        kubernetes_version="v1.37.2",
        created=0.0,
    )
    state.save()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gitward",
            "local",
            "kubectl",
            "--name",
            "demo",
            "get",
            "pods",
            "-n",
            "kube-system",
            "--name",
            "x",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITWARD_TOOL_KUBECTL": "/bin/echo"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        f"--kubeconfig={tmp_path / 'clusters' / 'demo' / 'kubeconfig'}",
        "get",
        "pods",
        "-n",
        "kube-system",
        "--name",
        "x",
    ]


def test_kubectl_for_an_unknown_cluster_says_how_to_start_it() -> None:
    result = runner.invoke(app, ["local", "kubectl", "--name", "nope", "get", "pods"])
    assert result.exit_code == 1
    assert "gitward local up --name nope" in result.stderr
