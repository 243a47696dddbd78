"""The status writer against the real Application CRD: writes only real changes, clears what went away."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gitward.controller.status import StatusWriter, status_patch
from gitward.install.crds import crds
from gitward.kube.connection import Connection
from tests.helpers import Cluster

pytestmark = pytest.mark.cluster


@pytest.fixture
def app(cluster: Cluster, namespace: str) -> dict[str, Any]:
    cluster.kubectl(
        "apply",
        "--server-side",
        "-f",
        "-",
        stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": crds()}),
    )
    cluster.kubectl("wait", "--for=condition=Established", "crd/applications.gitward.dev", "--timeout=60s")
    manifest = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "shop", "namespace": namespace},
        "spec": {
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "source": {"repoURL": "https://git.example/shop.git", "path": "deploy"},
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    got: dict[str, Any] = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    return got


def degraded(revision: str) -> dict[str, Any]:
    return {
        "sync": {"status": "Synced", "revision": revision},
        "health": {"status": "Degraded", "message": "web: ProgressDeadlineExceeded"},
        "conditions": [{"type": "SyncError", "message": "apps/Deployment web: timed out"}],
        "reconciledAt": "2026-11-30T10:00:00Z",
    }


async def test_status_is_written_once_and_an_unchanged_status_costs_no_request(
    cluster: Cluster, connection: Connection, namespace: str, app: dict[str, Any]
) -> None:
    writer = StatusWriter(connection)
    assert await writer.write(app, degraded("8c2e1f0"))
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    assert stored["status"]["health"]["status"] == "Degraded"
    row = cluster.kubectl("get", "applications.gitward.dev", "shop", "-n", namespace).splitlines()[1]
    assert row.split()[1:4] == ["Synced", "Degraded", "8c2e1f0"]

    patches = connection.requests.get("PATCH", 0)
    again = degraded("8c2e1f0") | {"reconciledAt": "2026-11-30T10:03:00Z"}
    assert not await writer.write(stored, again)
    assert connection.requests.get("PATCH", 0) == patches, "a new reconciledAt alone is no change"


async def test_a_condition_that_went_away_is_removed(
    cluster: Cluster, connection: Connection, namespace: str, app: dict[str, Any]
) -> None:
    writer = StatusWriter(connection)
    await writer.write(app, degraded("8c2e1f0"))
    stored = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)
    healed = {"sync": {"status": "Synced", "revision": "8c2e1f0"}, "health": {"status": "Healthy"}}

    assert await writer.write(stored, healed)

    status = cluster.get_json("applications.gitward.dev", "shop", "-n", namespace)["status"]
    assert "conditions" not in status
    assert status["health"] == {"status": "Healthy"}


async def test_events_are_recorded_on_the_app(
    cluster: Cluster, connection: Connection, namespace: str, app: dict[str, Any]
) -> None:
    await StatusWriter(connection).event(app, "SyncFailed", "apps/Deployment web: timed out", warning=True)
    events = cluster.get_json("events", "-n", namespace, "--field-selector", "involvedObject.name=shop")[
        "items"
    ]
    assert [(e["reason"], e["type"]) for e in events] == [("SyncFailed", "Warning")]


def test_status_patch_nulls_removed_fields_and_ignores_reconciled_at() -> None:
    current = {"sync": {"status": "OutOfSync"}, "conditions": [{"type": "X"}], "reconciledAt": "a"}
    assert status_patch(current, {**current, "reconciledAt": "b"}) is None
    patch = status_patch(current, {"sync": {"status": "Synced"}})
    assert patch == {"status": {"conditions": None, "reconciledAt": None, "sync": {"status": "Synced"}}}
    nested = status_patch(
        {"health": {"status": "Degraded", "message": "m"}}, {"health": {"status": "Healthy"}}
    )
    assert nested == {"status": {"health": {"message": None, "status": "Healthy"}}}
