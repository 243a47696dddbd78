"""What the end-to-end tests share: example manifests, an Application, waiting."""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import Any

from gitward.controller.run import ControllerSettings
from gitward.controller.triggers import PollPolicy
from gitward.install.crds import crds
from gitward.local import toolchain
from gitward.render import Tools
from tests.helpers import Cluster, eventually

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
    groups = ("gitward.dev", "argoproj.io") if compat_argocd else ("gitward.dev",)
    for name in (f"{kind}.{group}" for group in groups for kind in ("applications", "appprojects")):
        eventually(functools.partial(_established, cluster, name), what=f"crd/{name} Established")


def _established(cluster: Cluster, crd: str) -> bool:
    # Read, not `kubectl wait`: that fails on a CRD created a moment ago, while status.conditions is null.
    conditions = (cluster.get_json("crd", crd).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


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


def application(
    namespace: str, destination: str, url: str, name: str = "shop", path: str = "deploy"
) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "source": {"repoURL": url, "path": path, "targetRevision": "main"},
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        },
    }


def app_status(cluster: Cluster, namespace: str, name: str, group: str = "gitward.dev") -> dict[str, Any]:
    """The Application's status as stored ({} before the controller first writes it)."""
    found: dict[str, Any] = cluster.get_json(f"applications.{group}", name, "-n", namespace)
    return found.get("status") or {}


def patch_app(cluster: Cluster, namespace: str, name: str, patch: dict[str, Any]) -> None:
    """A JSON merge patch of the Application, as `kubectl patch --type=merge` sends it."""
    cluster.kubectl(
        "patch", "applications.gitward.dev", name, "-n", namespace, "--type=merge", "-p", json.dumps(patch)
    )


def request_sync(cluster: Cluster, namespace: str, name: str) -> None:
    """What `gitward app sync` asks for (the shared contract): a sync with prune, by a person."""
    patch_app(
        cluster,
        namespace,
        name,
        {"operation": {"sync": {"prune": True}, "initiatedBy": {"username": "tester"}}},
    )


def live(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    """The object as the cluster has it, or None when it does not exist."""
    out = cluster.kubectl("get", kind, name, "-n", namespace, "--ignore-not-found", "-o", "json")
    return json.loads(out) if out.strip() else None


def condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


async def until(check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await asyncio.to_thread(check)
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
