"""A sync long enough to hit with a fault, and what must hold once it has recovered.

Revision 1 (synced before the fault): a Deployment `web` (2 replicas), the
ConfigMaps `settings` (blue) and `old`. Revision 2: a PreSync hook Job
`migrate` that cannot start until the test labels the node (the gate), then
`web` at 3 replicas and `settings` green (wave 0), a ConfigMap `after`
(wave 1), and `old` gone (pruned). So the sync of revision 2 is Running, its
hook waiting, for as long as the test wants; the fault hits then.

Beside it, in the same namespace and controller: the app `steady` (one
ConfigMap, never changed) and a ConfigMap `hand-made` that no app owns.
Neither may be written or deleted by anything the fault sets off.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.chaos.observe import Audit, StatusLog
from tests.e2e.processes import ControllerProcess, controller_process
from tests.e2e.support import application, condition
from tests.helpers import Cluster, eventually
from tests.source.servers import Upstream, git_daemon

GATE_LABEL = "gitward.dev/chaos-gate"


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, indent=1)


def deployment(replicas: int) -> str:
    labels = {"app": "web"}
    return _json(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]},
                },
            },
        }
    )


def config_map(name: str, data: dict[str, str], wave: int | None = None) -> str:
    metadata: dict[str, Any] = {"name": name}
    if wave is not None:
        metadata["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    return _json({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})


def gated_job(name: str, gate: str) -> str:
    return _json(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "nodeSelector": {GATE_LABEL: gate},
                        "containers": [{"name": "run", "image": "registry.example/migrate:1"}],
                    }
                },
            },
        }
    )


@dataclass
class GatedSync:
    cluster: Cluster
    apps: str  # the controller's namespace, where the Applications live
    target: str  # where the apps deploy
    upstream: Upstream
    served: Path  # the folder a Git server serves; the app's repository is `shop` in it
    gate: str = field(default_factory=lambda: secrets.token_hex(4))
    first: str = ""
    second: str = ""
    gate_opened: float = 0.0

    @classmethod
    def prepare(cls, cluster: Cluster, apps: str, served: Path) -> GatedSync:
        """Revision 1 in Git (`served`/shop), the target namespace with its hand-made ConfigMap."""
        served.mkdir()
        upstream = Upstream(served / "shop")
        scenario = cls(cluster, apps, f"chaos-app-{secrets.token_hex(3)}", upstream, served)
        scenario.first = upstream.commit(
            {
                "deploy/web.json": deployment(2),
                "deploy/settings.json": config_map("settings", {"colour": "blue"}),
                "deploy/old.json": config_map("old", {"left": "behind"}),
                "steady/steady.json": config_map("steady", {"never": "changes"}),
            },
            "revision 1",
        )
        cluster.kubectl("create", "namespace", scenario.target)
        cluster.kubectl("create", "configmap", "hand-made", "-n", scenario.target, "--from-literal=a=b")
        return scenario

    def create_apps(self, url: str) -> None:
        for name, path in (("shop", "deploy"), ("steady", "steady")):
            app = application(self.apps, self.target, url, name=name, path=path)
            self.cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def status(self, name: str = "shop") -> dict[str, Any]:
        found = self.cluster.get_json("applications.gitward.dev", name, "-n", self.apps)
        return dict(found.get("status") or {})

    def synced_at(self, revision: str, name: str = "shop", timeout: float = 90) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            status = self.status(name)
            sync, health = status.get("sync") or {}, status.get("health") or {}
            ok = sync.get("status") == "Synced" and sync.get("revision") == revision
            return status if ok and health.get("status") == "Healthy" else None

        return eventually(done, timeout=timeout, what=f"{name} Synced and Healthy at {revision[:12]}")

    def push_second(self) -> None:
        (self.upstream.path / "deploy" / "old.json").unlink()
        self.second = self.upstream.commit(
            {
                "deploy/migrate.json": gated_job("migrate", self.gate),
                "deploy/web.json": deployment(3),
                "deploy/settings.json": config_map("settings", {"colour": "green"}),
                "deploy/after.json": config_map("after", {"wave": "1"}, wave=1),
            },
            "revision 2",
        )

    def hook_waiting(self, timeout: float = 90) -> None:
        """Until the sync of revision 2 is Running with its hook Job created (and held by the gate)."""

        def waiting() -> bool:
            state = self.status().get("operationState") or {}
            running = state.get("phase") == "Running"
            at_second = (state.get("syncResult") or {}).get("revision") == self.second
            job = self.cluster.kubectl("get", "job", "migrate", "-n", self.target, "--ignore-not-found")
            return running and at_second and bool(job.strip())

        eventually(waiting, timeout=timeout, what="the sync of revision 2 Running, its hook waiting")

    def open_gate(self) -> None:
        self.cluster.kubectl("label", "nodes", "--all", f"{GATE_LABEL}={self.gate}", "--overwrite")
        self.gate_opened = time.monotonic()

    def close_gate(self) -> None:
        self.cluster.kubectl("label", "nodes", "--all", f"{GATE_LABEL}-", check=False)

    def finished(self, timeout: float = 150) -> dict[str, Any]:
        """The app's status once the sync of revision 2 ended and the app is Synced and Healthy."""
        status = self.synced_at(self.second, timeout=timeout)
        state = status["operationState"]
        assert state["phase"] == "Succeeded", state.get("message")
        assert state["syncResult"]["revision"] == self.second
        return status


@dataclass
class Observed:
    """What each fault test starts from: the controller, and the writes and statuses being recorded."""

    controller: ControllerProcess
    audit: Audit
    log: StatusLog


def synced_and_observed(
    stack: contextlib.ExitStack, scenario: GatedSync, url: str, folder: Path, launcher: Sequence[str] = ()
) -> Observed:
    """Start a controller (log in `folder`), create both apps from `url`, and once both are Synced at
    revision 1, start recording writes in the target namespace and the shop's statuses."""
    controller = stack.enter_context(
        controller_process(scenario.cluster, scenario.apps, folder, "--no-leader-elect", launcher=launcher)
    )
    scenario.create_apps(url)
    scenario.synced_at(scenario.first)
    scenario.synced_at(scenario.first, name="steady")
    audit = stack.enter_context(Audit(scenario.cluster, scenario.target))
    log = stack.enter_context(StatusLog(scenario.cluster, scenario.apps, "shop"))
    return Observed(controller, audit, log)


@contextlib.contextmanager
def sync_held_at_hook(scenario: GatedSync, folder: Path, launcher: Sequence[str] = ()) -> Iterator[Observed]:
    """Git served by a daemon, the controller started (`synced_and_observed`), then revision 2 pushed
    and its sync Running, its hook held at the gate: the moment each fault hits. All stopped at exit."""
    with contextlib.ExitStack() as stack:
        url = f"{stack.enter_context(git_daemon(scenario.served))}/shop"
        stack.callback(scenario.close_gate)
        observed = synced_and_observed(stack, scenario, url, folder, launcher)
        scenario.push_second()
        scenario.hook_waiting()
        yield observed


def check_recovered(scenario: GatedSync, audit: Audit, log: StatusLog) -> None:
    """What must hold once the sync of revision 2 finished after the fault."""
    status = scenario.finished()
    history = [h["revision"] for h in status["history"]]
    assert history == [scenario.first, scenario.second], f"one history entry per revision deployed: {history}"
    for kind in ("ComparisonError", "SyncError"):
        assert condition(status, kind) is None, f"a {kind} left behind after recovery"
    names = [r["name"] for r in status["operationState"]["syncResult"]["resources"]]
    assert len(names) == len(set(names)), f"each object once in the result: {names}"
    assert {"after", "migrate", "settings", "web"} <= set(names)
    assert scenario.synced_at(scenario.second, name="steady"), "the other app follows Git too"

    # One write per intended change, none twice (the audit saw every write the apiserver took).
    assert not audit.gaps, f"the audit could not follow every write: {audit.gaps}"
    assert len({e.uid for e in audit.of("Job", "migrate")}) == 1, "the hook Job was created once"
    assert not [e for e in audit.of("Job", "migrate") if e.type == "DELETED"], "the hook was not re-run"
    settings = [e.data for e in audit.of("ConfigMap", "settings")]
    assert settings == [{"colour": "green"}], "settings written once, with revision 2's value"
    assert [e.type for e in audit.of("ConfigMap", "after")] == ["ADDED"], "wave 1 applied once"
    check_pruned_once(audit)
    check_one_spec_change(audit)
    # Nothing else is touched: the other app's object, and one no app owns.
    assert audit.of("ConfigMap", "steady") == [], "the other app's ConfigMap was not written"
    assert audit.of("ConfigMap", "hand-made") == [], "an object no app owns was not touched"

    # The status never claimed revision 2 done before its hook could even start.
    for early in log.before(scenario.gate_opened):
        sync, state = early.get("sync") or {}, early.get("operationState") or {}
        claims_synced = sync.get("status") == "Synced" and sync.get("revision") == scenario.second
        assert not claims_synced, f"Synced at revision 2 while its hook was held: {sync}"
        assert (
            state.get("phase") != "Succeeded"
            or state.get("syncResult", {}).get("revision") != scenario.second
        )


def check_one_spec_change(audit: Audit) -> None:
    """The Deployment `web` was changed once (generation 1 -> 2), never re-created or changed back."""
    web = audit.of("Deployment", "web")
    assert web, "the Deployment was never written"
    assert {e.uid for e in web} == {web[0].uid}, "the Deployment was never re-created"
    generations = [1, *(e.generation for e in web)]
    changes = sum(1 for before, after in itertools.pairwise(generations) if after != before)
    assert (changes, generations[-1]) == (1, 2), f"one change of the Deployment's spec: {generations}"


def check_pruned_once(audit: Audit) -> None:
    """`old`, left out of revision 2, was deleted once (a foreground delete first marks it: MODIFIED)."""
    seen = [e.type for e in audit.of("ConfigMap", "old")]
    assert seen.count("DELETED") == 1 and "ADDED" not in seen, f"the object left in Git pruned once: {seen}"
    assert all(e.data == {"left": "behind"} for e in audit.of("ConfigMap", "old")), "and never rewritten"
