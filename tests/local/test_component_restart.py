"""Stopping and starting one component of a local cluster, with stand-in binaries.

The real components are exercised by tests/chaos/; here a shell script that
only sleeps plays kwok, so the record keeping runs without a toolchain.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.local import cluster
from gitward.local.components import Ports
from gitward.local.process import alive, spawn, stop
from gitward.local.state import ClusterState, load


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ClusterState]:
    """A cluster record named `demo` whose only process is a stand-in kwok."""
    monkeypatch.setenv("GITWARD_CLUSTERS", str(tmp_path / "clusters"))
    fake = tmp_path / "kwok"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("GITWARD_TOOL_KWOK", str(fake))
    recorded = ClusterState(
        name="demo", ports=Ports.from_list([1, 2, 3, 4, 5, 6]), nodes=0, kubernetes_version="v", created=1.0
    )
    recorded.phase = "running"
    log = recorded.layout.log("kwok")
    recorded.processes = [spawn("kwok", [str(fake)], log, os.environ)]
    recorded.save()
    yield recorded
    stop((load("demo") or recorded).processes, grace=1)


def test_a_crashed_component_is_recorded_dead_and_comes_back_on_start(state: ClusterState) -> None:
    first = state.processes[0]
    cluster.stop_component("demo", "kwok", crash=True)
    assert not alive(first)
    after_crash = load("demo")
    assert after_crash is not None and after_crash.condition() == "stopped"

    cluster.start_component("demo", "kwok")
    back = load("demo")
    assert back is not None and back.condition() == "running"
    [proc] = back.processes
    assert proc.component == "kwok" and proc.pid != first.pid and alive(proc)


def test_starting_a_running_component_leaves_it_alone(state: ClusterState) -> None:
    cluster.start_component("demo", "kwok")
    assert load("demo") == state


def test_restart_replaces_the_process(state: ClusterState) -> None:
    started = time.monotonic()
    cluster.restart("demo", "kwok")
    assert time.monotonic() - started < 5, "a process that takes SIGTERM is not waited on for the grace"
    back = load("demo")
    assert back is not None and [p.pid for p in back.live()] != [state.processes[0].pid]
    assert back.condition() == "running"


def test_an_unknown_component_is_refused_by_name(state: ClusterState) -> None:
    with pytest.raises(cluster.ClusterError, match="unknown component 'apiserver': choose one of etcd, "):
        cluster.stop_component("demo", "apiserver")


def test_a_cluster_that_is_not_running_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CLUSTERS", str(tmp_path / "clusters"))
    with pytest.raises(cluster.ClusterError, match="cluster absent is not running"):
        cluster.start_component("absent", "etcd")
