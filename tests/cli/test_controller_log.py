"""`gitward controller`'s log as an operator reads it: JSON lines for a collector, or console lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import ControllerProcess, controller_process
from tests.e2e.support import app_status, application, install_crds
from tests.helpers import Cluster, eventually
from tests.source.servers import Upstream

PASSWORD = "hunter2-log-canary"


def _records(process: ControllerProcess) -> list[dict[str, Any]]:
    return [json.loads(line) for line in process.text().splitlines() if line.strip()]


def _logged(process: ControllerProcess, event: str, **fields: object) -> bool:
    return any(
        r["event"] == event and all(r.get(k) == v for k, v in fields.items()) for r in _records(process)
    )


def _synced(cluster: Cluster, namespace: str) -> bool:
    return bool(app_status(cluster, namespace, "shop").get("sync", {}).get("status") == "Synced")


@pytest.mark.cluster
def test_json_log_is_one_object_per_line_with_debug_records_and_no_secret(
    cluster: Cluster, namespace: str, tmp_path: Path, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    install_crds(cluster)
    args = ("--no-leader-elect", "--log-format", "json", "--log-level", "debug")
    with controller_process(cluster, namespace, tmp_path / "controller", *args) as controller:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, namespace, url)))
        # An app whose repository needs a password in its URL, and cannot be reached: its failure is logged.
        locked_url = f"http://gitward:{PASSWORD}@127.0.0.1:9/shop.git"
        locked = application(namespace, namespace, locked_url, "locked")
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(locked))
        eventually(lambda: _logged(controller, "reconciled"), what="a debug record of a reconcile")
        eventually(
            lambda: _logged(controller, "reconcile failed", key="locked"),
            what="the unreachable app's failure logged",
        )
        written = _records(controller)
    for record in written:
        assert {"timestamp", "level", "event"} <= set(record), record
        assert record["level"] in ("debug", "info", "warning", "error", "critical"), record
    running = next(r for r in written if r["event"] == "controller running")
    assert running["namespace"] == namespace and running["workers"] >= 1
    reconciled = next(r for r in written if r["event"] == "reconciled")
    assert reconciled["level"] == "debug" and reconciled["key"] and "seconds" in reconciled
    assert PASSWORD not in controller.text()


@pytest.mark.cluster
def test_console_log_at_info_leaves_out_debug_records(
    cluster: Cluster, namespace: str, tmp_path: Path, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    install_crds(cluster)
    # Console is the default format.
    with controller_process(
        cluster, namespace, tmp_path / "controller", "--no-leader-elect", "--log-level", "info"
    ) as controller:
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, namespace, url)))
        eventually(lambda: _synced(cluster, namespace), timeout=90, what="the app synced")
        # Counted right before the record of a reconcile would be written: two counted, one written.
        eventually(lambda: controller.reconciles() >= 2, what="two reconciles done")
        text = controller.text()
    lines = text.splitlines()
    running = next(line for line in lines if "controller running" in line)
    assert "[info]" in running and f"namespace={namespace}" in running
    assert not running.startswith("{")
    assert "[debug]" not in text
    assert "reconciled" not in text


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--log-format", "xml"], {}, "'xml' is not one of 'console', 'json'"),
        (["--log-level", "loud"], {}, "'loud' is not one of 'debug', 'info', 'warning', 'error'"),
        ([], {"GITWARD_LOG_FORMAT": "text"}, "GITWARD_LOG_FORMAT"),
    ],
)
def test_a_bad_log_format_or_level_is_a_usage_error(
    args: list[str], env: dict[str, str], message: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gitward", "controller", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env},
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
