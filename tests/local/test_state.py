from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitward.local.components import Ports
from gitward.local.process import spawn, stop
from gitward.local.state import ClusterState, all_states, check_name, load


@pytest.fixture(autouse=True)
def _clusters_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITWARD_CLUSTERS", str(tmp_path / "clusters"))


def _state(name: str = "demo") -> ClusterState:
    return ClusterState(
        name=name,
        ports=Ports.from_list([1, 2, 3, 4, 5, 6]),
        nodes=2,
        kubernetes_version="v1.37.2",
        created=1.0,
    )


def test_state_round_trips_through_disk() -> None:
    state = _state()
    state.save()
    assert load("demo") == state
    assert [s.name for s in all_states()] == ["demo"]


def test_an_unreadable_state_file_is_treated_as_absent(tmp_path: Path) -> None:
    directory = tmp_path / "clusters" / "broken"
    directory.mkdir(parents=True)
    (directory / "cluster.json").write_text("{not json")
    assert load("broken") is None
    assert all_states() == []


def test_condition_follows_the_processes(tmp_path: Path) -> None:
    state = _state()
    state.phase = "running"
    one = spawn("a", ["/bin/sh", "-c", "exec sleep 60"], tmp_path / "a.log", os.environ)
    two = spawn("b", ["/bin/sh", "-c", "exec sleep 60"], tmp_path / "b.log", os.environ)
    state.processes = [one, two]
    assert state.condition() == "running"
    stop([one], grace=2)
    assert state.condition() == "degraded"
    stop([two], grace=2)
    assert state.condition() == "stopped"


@pytest.mark.parametrize("bad", ["", "UPPER", "-lead", "trail-", "has space", "x" * 41, "../up"])
def test_bad_cluster_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid cluster name"):
        check_name(bad)
