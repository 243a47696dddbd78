"""The Git server killed in the middle of a fetch, then started again.

Revision 1 is synced over smart HTTP. Revision 2 is pushed while the server
holds every fetch halfway through its pack; once the controller's fetch is
in flight the server process is killed (SIGKILL). The app must keep
revision 1 applied, nothing pruned, and say why in a ComparisonError; once
the server is back the sync of revision 2 finishes, each change written once.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from tests.chaos.git_http import KillableGitServer
from tests.chaos.scenario import (
    GatedSync,
    check_one_spec_change,
    check_pruned_once,
    config_map,
    deployment,
    synced_and_observed,
)
from tests.e2e.support import condition, live
from tests.helpers import Cluster, eventually

pytestmark = pytest.mark.cluster


def test_a_git_server_killed_mid_fetch_costs_nothing(
    whole_cluster: Cluster, apps_namespace: str, tmp_path: Path
) -> None:
    cluster = whole_cluster
    scenario = GatedSync.prepare(cluster, apps_namespace, tmp_path / "served")
    server = KillableGitServer(scenario.served, tmp_path / "git-control")
    with contextlib.ExitStack() as stack:
        server.start()
        stack.callback(server.kill)
        url = f"{server.url}/shop"
        observed = synced_and_observed(stack, scenario, url, tmp_path / "controller")
        controller, audit, log = observed.controller, observed.audit, observed.log

        # Revision 2 without the hook: what matters here is getting it out of Git.
        server.hold(True)
        (scenario.upstream.path / "deploy" / "old.json").unlink()
        scenario.second = scenario.upstream.commit(
            {
                "deploy/web.json": deployment(3),
                "deploy/settings.json": config_map("settings", {"colour": "green"}),
            },
            "revision 2",
        )
        eventually(server.in_flight, what="the controller's fetch of revision 2 in flight")
        server.kill()

        def failed() -> dict[str, str] | None:
            return condition(scenario.status(), "ComparisonError")

        found = eventually(failed, timeout=60, what="a ComparisonError about the dead server")
        assert url in found["message"], found["message"]
        status = scenario.status()
        assert status["sync"]["revision"] == scenario.first, "the last good revision is still the one shown"
        assert (live(cluster, "deployment", "web", scenario.target) or {})["spec"]["replicas"] == 2
        assert (live(cluster, "configmap", "settings", scenario.target) or {})["data"] == {"colour": "blue"}
        assert live(cluster, "configmap", "old", scenario.target) is not None, "nothing is pruned"
        assert controller.alive()

        server.hold(False)
        server.start()
        scenario.gate_opened = time.monotonic()  # from here on revision 2 may be Synced
        status = scenario.synced_at(scenario.second, timeout=90)

    assert condition(status, "ComparisonError") is None, "the condition goes once Git answers"
    assert [h["revision"] for h in status["history"]] == [scenario.first, scenario.second]
    assert not audit.gaps, audit.gaps
    assert [e.data for e in audit.of("ConfigMap", "settings")] == [{"colour": "green"}]
    check_pruned_once(audit)
    check_one_spec_change(audit)
    assert audit.of("ConfigMap", "steady") == [] and audit.of("ConfigMap", "hand-made") == []
    for early in log.before(scenario.gate_opened):
        sync = early.get("sync") or {}
        assert (sync.get("status"), sync.get("revision")) != ("Synced", scenario.second), sync
