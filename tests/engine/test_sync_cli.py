"""`gitward sync --local DIR`: push mode as CI runs it, against the real session cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster

GUESTBOOK = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: guestbook
spec:
  replicas: 1
  selector:
    matchLabels: {app: guestbook}
  template:
    metadata:
      labels: {app: guestbook}
    spec:
      containers:
        - name: app
          image: registry.example/guestbook:1
---
apiVersion: v1
kind: Service
metadata:
  name: guestbook
spec:
  selector: {app: guestbook}
  ports:
    - port: 80
"""


def gitward_sync(
    cluster: Cluster, folder: Path, app: str, namespace: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gitward",
            "sync",
            "--local",
            str(folder),
            "--app",
            app,
            "--dest-namespace",
            namespace,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--timeout",
            "120",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_sync_reports_synced_and_healthy_then_nothing_to_write(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "app", "guestbook.yaml", GUESTBOOK)

    first = gitward_sync(cluster, folder, f"cli-{namespace}", namespace)

    assert first.returncode == 0, first.stderr
    assert "Succeeded, health Healthy" in first.stdout
    again = gitward_sync(cluster, folder, f"cli-{namespace}", namespace, "-o", "json")
    assert again.returncode == 0, again.stderr
    report: dict[str, Any] = json.loads(again.stdout)
    assert report["writes"] == 0
    assert {r["message"] for r in report["resources"]} == {"unchanged"}


def test_invalid_files_are_bad_input_with_their_position(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "app", "broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x\n")

    result = gitward_sync(cluster, folder, f"cli-{namespace}", namespace)

    assert result.returncode == 2
    assert "broken.yaml:" in result.stderr
    assert result.stdout == ""


def test_an_object_the_server_refuses_fails_the_sync(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    docs = list(yaml.safe_load_all(GUESTBOOK))
    docs[0]["spec"]["replicaz"] = 2
    folder = write(tmp_path / "app", "app.yaml", yaml.safe_dump_all(docs))

    result = gitward_sync(cluster, folder, f"cli-{namespace}", namespace)

    assert result.returncode == 1
    assert "replicaz" in result.stdout
    assert "nothing was applied" in result.stdout


def test_a_degraded_rollout_exits_3_with_the_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(GUESTBOOK))
    # The local cluster's kwok fails images tagged `:fail`: the pod never becomes
    # Ready, and the rollout misses its one-second deadline.
    docs[0]["spec"]["progressDeadlineSeconds"] = 1
    docs[0]["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.example/guestbook:fail"
    folder = write(tmp_path / "app", "app.yaml", yaml.safe_dump_all(docs))

    result = gitward_sync(cluster, folder, f"cli-{namespace}", namespace, "-o", "json")

    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["phase"] == "Succeeded"
    assert report["health"]["status"] == "Degraded"
    assert "timed out progressing" in report["health"]["message"]
    # The Deployment's own status does not say why; its pod does, and the report repeats it.
    assert (
        'ImagePullBackOff: Back-off pulling image "registry.example/guestbook:fail"'
        in (report["health"]["message"])
    )

    def waiting() -> list[str]:
        pods = cluster.get_json("pods", "-n", namespace, "-l", "app=guestbook")["items"]
        statuses = [c for p in pods for c in p["status"].get("containerStatuses", [])]
        return [c["state"].get("waiting", {}).get("reason", "") for c in statuses]

    eventually(lambda: waiting() == ["ImagePullBackOff"], 30, "the pod waiting in ImagePullBackOff")


def test_dry_run_shows_what_would_change_and_writes_nothing(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    folder = write(tmp_path / "app", "guestbook.yaml", GUESTBOOK)

    result = gitward_sync(cluster, folder, f"cli-{namespace}", namespace, "--dry-run", "-o", "json")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {r["message"] for r in report["resources"]} == {"(dry run) would be created"}
    assert report["writes"] == 0
    assert cluster.kubectl("get", "deployment,service", "-n", namespace, "-o", "name") == ""
