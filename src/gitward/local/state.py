"""The record of a local cluster on disk: what `up` started, for `down` and `status`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from gitward.local.components import Layout, Ports
from gitward.local.paths import clusters_root
from gitward.local.process import Proc, alive

STATE_FILE = "cluster.json"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid cluster name {name!r}: use 1-40 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return name


def cluster_dir(name: str) -> Path:
    return clusters_root() / check_name(name)


@dataclass
class ClusterState:
    name: str
    ports: Ports
    nodes: int
    kubernetes_version: str
    created: float
    # starting -> running, or starting -> failed
    phase: str = "starting"
    processes: list[Proc] = field(default_factory=list)

    @property
    def layout(self) -> Layout:
        return Layout(self.name, cluster_dir(self.name), self.ports)

    def live(self) -> list[Proc]:
        return [p for p in self.processes if alive(p)]

    def condition(self) -> str:
        """running, degraded (some process died), stopped, starting or failed."""
        if self.phase != "running":
            return self.phase
        live = len(self.live())
        if live == len(self.processes):
            return "running"
        return "degraded" if live else "stopped"

    def save(self) -> None:
        directory = self.layout.directory
        directory.mkdir(parents=True, exist_ok=True)
        data = {
            "name": self.name,
            "ports": self.ports.as_list(),
            "nodes": self.nodes,
            "kubernetes_version": self.kubernetes_version,
            "created": self.created,
            "phase": self.phase,
            "processes": [p.to_json() for p in self.processes],
        }
        tmp = directory / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(directory / STATE_FILE)


def load(name: str) -> ClusterState | None:
    """The recorded state, or None when there is none or it is unreadable."""
    path = cluster_dir(name) / STATE_FILE
    try:
        data = json.loads(path.read_text())
        return ClusterState(
            name=data["name"],
            ports=Ports.from_list([int(p) for p in data["ports"]]),
            nodes=int(data["nodes"]),
            kubernetes_version=str(data["kubernetes_version"]),
            created=float(data["created"]),
            phase=str(data["phase"]),
            processes=[Proc.from_json(p) for p in data["processes"]],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def all_states() -> list[ClusterState]:
    root = clusters_root()
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and _NAME.fullmatch(entry.name):
            state = load(entry.name)
            if state is not None:
                found.append(state)
    return found
