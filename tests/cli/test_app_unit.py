"""What `gitward app` does without a cluster: when a wait is over, what create sends, an unreachable one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.cli.app.api import BAD_INPUT, CliError, Target
from gitward.cli.app.progress import State, WaitFor, verdict
from gitward.cli.app.spec import Flags, build
from gitward.local.gitserver import free_port
from tests.cli.support import ENV

SOURCE = {"repoURL": "https://git.example/shop.git", "path": "deploy", "targetRevision": "main"}
DESTINATION = {"server": "https://kubernetes.default.svc", "namespace": "shop"}


def app(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "shop"},
        "spec": {"source": SOURCE, "destination": DESTINATION},
        "status": {
            "sync": {"status": "Synced", "comparedTo": {"source": SOURCE, "destination": DESTINATION}},
            "health": {"status": "Healthy"},
            **status,
        },
    }


def test_a_requested_operation_is_over_only_once_the_controller_wrote_a_new_result() -> None:
    before = {"phase": "Succeeded", "startedAt": "2026-01-01T00:00:00Z"}
    want = WaitFor(sync=True, health=True, requested=True, before=before)
    assert verdict({**app(operationState=before), "operation": {"sync": {}}}, want)[0] is State.waiting
    assert verdict(app(operationState=before), want)[0] is State.waiting  # cleared, but no new result yet
    assert verdict(app(operationState={"phase": "Running"}), want)[0] is State.waiting
    failed = verdict(app(operationState={"phase": "Failed", "message": "web: forbidden"}), want)
    assert failed == (State.failed, "operation Failed: web: forbidden")
    done = {"phase": "Succeeded", "startedAt": "2026-01-01T00:01:00Z"}
    assert verdict(app(operationState=done), want) == (State.done, "")


def test_synced_counts_only_against_the_spec_as_it_is_now() -> None:
    stale = app()
    stale["spec"] = {**stale["spec"], "source": {**SOURCE, "path": "other"}}
    assert verdict(stale, WaitFor(sync=True))[0] is State.waiting
    out_of_sync = app(sync={"status": "OutOfSync"})
    assert verdict(out_of_sync, WaitFor(sync=True)) == (State.waiting, "sync status OutOfSync")


def test_degraded_ends_a_health_wait_and_progressing_does_not() -> None:
    degraded = app(health={"status": "Degraded", "message": "deadline exceeded"})
    assert verdict(degraded, WaitFor(health=True)) == (State.failed, "health Degraded: deadline exceeded")
    assert verdict(app(health={"status": "Progressing"}), WaitFor(health=True))[0] is State.waiting
    assert verdict(degraded, WaitFor(sync=True))[0] is State.done


def test_create_flags_make_the_argo_cd_spec(tmp_path: Path) -> None:
    flags = Flags(
        name="shop",
        repo=SOURCE["repoURL"],
        path="deploy",
        dest_namespace="shop",
        sync_policy="automated",
        auto_prune=True,
        helm_set=("image.tag=2",),
        sync_options=("CreateNamespace=true",),
    )
    made = build(flags, None, Target(namespace="apps"))
    assert made["metadata"] == {"name": "shop", "namespace": "apps"}
    assert made["spec"]["source"] == {
        "repoURL": SOURCE["repoURL"],
        "path": "deploy",
        "targetRevision": "HEAD",
        "helm": {"parameters": [{"name": "image.tag", "value": "2"}]},
    }
    assert made["spec"]["destination"] == DESTINATION
    assert made["spec"]["syncPolicy"] == {
        "automated": {"prune": True},
        "syncOptions": ["CreateNamespace=true"],
    }


def test_contradictory_create_flags_are_refused() -> None:
    with pytest.raises(CliError) as refused:
        build(Flags(name="shop", repo="r", sync_policy="none", self_heal=True), None, Target())
    assert refused.value.code == BAD_INPUT and "--sync-policy automated" in str(refused.value)


@pytest.mark.parametrize("source", ["git", "live"])
def test_manifests_from_an_unreachable_cluster_exit_1(tmp_path: Path, source: str) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
                "users": [{"name": "me", "user": {"token": "t"}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "me"}}],
                "current-context": "gone",
            }
        )
    )
    command = [sys.executable, "-m", "gitward", "app", "manifests", "shop", "--source", source]
    ran = subprocess.run(
        [*command, "--kubeconfig", str(kubeconfig)], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr.startswith("gitward: ") and ran.stdout == ""
