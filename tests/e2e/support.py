"""What the end-to-end tests share: example manifests, an Application, waiting."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from gitward.controller.run import ControllerSettings
from gitward.controller.triggers import PollPolicy
from gitward.install.crds import crds
from gitward.local import toolchain
from gitward.render import Tools
from tests.helpers import Cluster

CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  colour: {colour}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1
"""


def install_crds(cluster: Cluster, *, compat_argocd: bool = False) -> None:
    """The CRDs as `gitward install` ships them, applied and Established."""
    cluster.kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": crds(compat_argocd=compat_argocd)}),
    )
    cluster.kubectl("wait", "--for=condition=Established", "crd/applications.gitward.dev", "--timeout=60s")


def settings(namespace: str, tmp_path: Path, **overrides: Any) -> ControllerSettings:
    """A controller made for tests: fast polls, no leader election, its own Git cache."""
    tools = Tools(helm=str(toolchain.find("helm")), kustomize=str(toolchain.find("kustomize")))
    values: dict[str, Any] = {
        "namespace": namespace,
        "workers": 2,
        "poll": PollPolicy(interval=1.0, jitter=0.0),
        "leader_election": False,
        "tools": tools,
        "git_cache": tmp_path / "git",
    }
    values.update(overrides)
    return ControllerSettings(**values)


def application(namespace: str, destination: str, url: str) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "source": {"repoURL": url, "path": "deploy", "targetRevision": "main"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


async def until(check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await asyncio.to_thread(check)
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
