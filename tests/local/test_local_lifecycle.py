"""`gitward local up|down|status` as a user runs them, including the ways they go wrong."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gitward.local import cluster as local_cluster
from gitward.local import ports
from gitward.local.process import alive
from gitward.local.state import load
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster


def gitward(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitward", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_up_prints_a_kubeconfig_that_works_and_down_leaves_nothing_behind(cluster_name: str) -> None:
    started = gitward("local", "up", "--name", cluster_name, "--nodes", "1")
    assert started.returncode == 0, started.stderr
    export = started.stdout.strip().splitlines()[-1]
    assert export.startswith("export KUBECONFIG=")
    kubeconfig = Path(export.split("=", 1)[1])
    assert kubeconfig.is_file()

    state = load(cluster_name)
    assert state is not None
    assert [p.component for p in state.processes] == [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ]
    assert all(alive(p) for p in state.processes)
    listening = [p for p in state.ports.as_list() if ports.is_listening(p)]
    assert state.ports.etcd_client in listening
    assert state.ports.apiserver in listening

    listed = json.loads(gitward("local", "status", "-o", "json").stdout)
    mine = [c for c in listed if c["name"] == cluster_name]
    assert mine and mine[0]["state"] == "running"

    stopped = gitward("local", "down", "--name", cluster_name)
    assert stopped.returncode == 0, stopped.stderr

    assert not any(alive(p) for p in state.processes)
    assert [p for p in state.ports.as_list() if ports.is_listening(p)] == []
    assert not kubeconfig.parent.exists()
    listed = json.loads(gitward("local", "status", "-o", "json").stdout)
    assert cluster_name not in [c["name"] for c in listed]


def test_two_clusters_run_at_once_and_are_isolated(cluster: Cluster, cluster2: Cluster) -> None:
    assert cluster.server != cluster2.server
    marker = f"only-in-first-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", marker)

    assert cluster.kubectl("get", "namespace", marker, "-o", "name").strip() == f"namespace/{marker}"
    assert cluster2.kubectl("get", "namespace", marker, "--ignore-not-found", "-o", "name").strip() == ""

    # Each cluster has its own CA: the first cluster's admin is a stranger to the second.
    files = cluster.state.layout.pki
    context = ssl.create_default_context(cafile=str(files.ca_cert))
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(str(files.directory / "admin.crt"), str(files.directory / "admin.key"))
    with httpx.Client(base_url=cluster2.server, verify=context, trust_env=False) as foreign:
        assert foreign.get("/api/v1/namespaces").status_code == 401

    cluster.kubectl("delete", "namespace", marker, "--wait=false")


def test_a_busy_port_is_skipped(cluster_name: str) -> None:
    with socket.socket() as squatter:
        base = ports.allocate(1)[0]
        squatter.bind(("127.0.0.1", base))
        squatter.listen()

        started = gitward("local", "up", "--name", cluster_name, "--nodes", "1", "--port-base", str(base))

        assert started.returncode == 0, started.stderr
        state = load(cluster_name)
        assert state is not None
        assert base not in state.ports.as_list()
        assert min(state.ports.as_list()) > base


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("gitward:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_a_missing_binary_is_one_line_naming_the_component_and_its_log(cluster_name: str) -> None:
    result = gitward(
        "local",
        "up",
        "--name",
        cluster_name,
        env={"GITWARD_TOOL_KUBE_SCHEDULER": "/nonexistent/kube-scheduler"},
    )

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "kube-scheduler" in line
    log = Path(line.rsplit("its log: ", 1)[1])
    assert log.name == "kube-scheduler.log"
    assert "/nonexistent/kube-scheduler" in log.read_text()
    state = load(cluster_name)
    assert state is not None and state.phase == "failed"
    assert not any(alive(p) for p in state.processes), "a failed up must stop what it started"


def test_a_component_that_dies_at_start_keeps_its_log(cluster_name: str, tmp_path: Path) -> None:
    broken = tmp_path / "kwok"
    broken.write_text("#!/bin/sh\necho 'kwok: unknown flag --frobnicate' >&2\nexit 3\n")
    broken.chmod(0o755)

    result = gitward("local", "up", "--name", cluster_name, env={"GITWARD_TOOL_KWOK": str(broken)})

    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert "kwok" in line and "exit code 3" in line
    log = Path(line.rsplit("its log: ", 1)[1])
    assert "unknown flag --frobnicate" in log.read_text()


def test_stale_state_from_a_killed_run_is_cleaned_by_the_next_up(cluster_name: str) -> None:
    first = local_cluster.up(cluster_name, nodes=1, build=False)
    etcd, apiserver, *survivors = first.processes
    # A crash that took the data store and API server down but left the rest running.
    for proc in (etcd, apiserver):
        os.kill(proc.pid, signal.SIGKILL)
    eventually(lambda: not alive(etcd) and not alive(apiserver), timeout=10, what="the kill")
    assert all(alive(p) for p in survivors)

    again = gitward("local", "up", "--name", cluster_name, "--nodes", "1")

    assert again.returncode == 0, again.stderr
    assert "stale" in again.stderr
    assert not any(alive(p) for p in survivors), "orphans of the killed run must be stopped"
    second = load(cluster_name)
    assert second is not None and second.condition() == "running"
    assert {p.pid for p in second.processes}.isdisjoint(p.pid for p in first.processes)


def test_up_on_a_running_cluster_reuses_it(cluster: Cluster) -> None:
    again = gitward("local", "up", "--name", cluster.name)

    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    state = load(cluster.name)
    assert state is not None
    assert [p.pid for p in state.processes] == [p.pid for p in cluster.state.processes]
