"""kill -9 of `gitward controller` in the middle of a sync, then a correct finish by the next one.

The controller runs as a real process and is killed either while a PreSync
hook runs or while a wave-0 Job of the Sync phase is waiting; what it waits
for cannot start until the test labels a node. The second controller must
finish that same sync: no hook run twice (a finished one is skipped, a
running one is waited for), no object re-created, the rest applied, one
history entry.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import ControllerProcess, controller_process
from tests.e2e.support import application, install_crds
from tests.helpers import Cluster, eventually
from tests.source.servers import Upstream, git_daemon

pytestmark = pytest.mark.cluster

GATE_LABEL = "gitward.dev/test-gate"


def job(name: str, annotations: dict[str, str], node_selector: dict[str, str] | None = None) -> str:
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "run", "image": "registry.example/job:1"}],
    }
    if node_selector:
        pod["nodeSelector"] = node_selector
    return json.dumps(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"backoffLimit": 0, "template": {"spec": pod}},
        }
    )


def config_map(name: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/sync-wave": "1"}},
            "data": {"ready": "yes"},
        }
    )


@pytest.mark.parametrize("killed_in", ["a running hook", "a wave after the hooks"])
def test_a_sync_killed_midway_is_finished_by_the_next_controller(
    cluster: Cluster, namespace: str, tmp_path: Path, killed_in: str
) -> None:
    # The PreSync hooks run `migrate`, then `seed`; the Sync phase applies the Job `gate` (wave 0), then
    # the ConfigMap `after` (wave 1). The object the sync is killed at waits for a node label.
    token = secrets.token_hex(4)
    gated = {GATE_LABEL: token}
    in_hook = killed_in == "a running hook"
    files = {
        "deploy/migrate.json": job("migrate", {"argocd.argoproj.io/hook": "PreSync"}),
        "deploy/seed.json": job(
            "seed",
            {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "1"},
            gated if in_hook else None,
        ),
        "deploy/gate.json": job("gate", {"argocd.argoproj.io/sync-wave": "0"}, gated),
        "deploy/after.json": config_map("after"),
    }
    served = tmp_path / "served"
    served.mkdir()
    Upstream(served / "shop").commit(files)
    install_crds(cluster)
    target = f"kill-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    node = cluster.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").strip()

    def state() -> dict[str, Any]:
        found = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
        return dict((found.get("status") or {}).get("operationState") or {})

    def uid(kind: str, name: str) -> str:
        out = cluster.kubectl(
            "get", kind, name, "-n", target, "--ignore-not-found", "-o", "jsonpath={.metadata.uid}"
        )
        return out.strip()

    def hook_done(name: str) -> bool:
        resources = state().get("syncResult", {}).get("resources", [])
        return any(r.get("name") == name and r.get("hookPhase") == "Succeeded" for r in resources)

    def start(folder: str) -> ControllerProcess:
        return stack.enter_context(
            controller_process(cluster, namespace, tmp_path / folder, "--no-leader-elect")
        )

    with contextlib.ExitStack() as stack:
        url = f"{stack.enter_context(git_daemon(served))}/shop"
        stack.callback(cluster.kubectl, "label", "node", node, f"{GATE_LABEL}-", check=False)
        first = start("first")
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))
        eventually(lambda: hook_done("migrate"), timeout=90, what="the first PreSync hook to finish")
        if in_hook:
            eventually(lambda: uid("job", "seed"), what="the second hook to start")
            assert not hook_done("seed")
        else:
            eventually(lambda: hook_done("seed"), timeout=90, what="the second hook to finish")
            eventually(lambda: uid("job", "gate"), what="the wave-0 Job to be created")
        before = {name: uid("job", name) for name in ("migrate", "seed", "gate")}
        assert state()["phase"] == "Running"
        assert uid("configmap", "after") == "", "wave 1 waits"

        first.process.send_signal(signal.SIGKILL)
        assert first.process.wait(timeout=30) == -signal.SIGKILL
        assert state()["phase"] == "Running", "the record of the interrupted sync survives the crash"

        start("second")
        cluster.kubectl("label", "node", node, f"{GATE_LABEL}={token}", "--overwrite")
        finished = eventually(
            lambda: state() if state().get("phase") not in (None, "Running") else None,
            timeout=120,
            what="the resumed sync to finish",
        )

    assert finished["phase"] == "Succeeded", finished.get("message")
    assert finished["operation"]["initiatedBy"] == {"automated": True}
    assert uid("job", "migrate") == before["migrate"], "a hook that had finished was not run again"
    assert uid("job", "seed") == before["seed"], "the interrupted hook was let finish, not run again"
    if before["gate"]:
        assert uid("job", "gate") == before["gate"], "the Job applied before the crash was not re-created"
    assert uid("configmap", "after"), "the sync went on to wave 1"
    names = [r["name"] for r in finished["syncResult"]["resources"]]
    assert sorted(names) == ["after", "gate", "migrate", "seed"], "each object once in the result"
    app = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    history = app["status"]["history"]
    assert len(history) == 1, "one sync, one history entry"
    assert history[0]["revision"] == finished["syncResult"]["revision"]
    assert history[0]["deployStartedAt"] == finished["startedAt"], "the resumed sync is the same operation"
