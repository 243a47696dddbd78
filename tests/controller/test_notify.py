"""Outgoing notifications: which happenings notify, and a real receiver hearing a real controller."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from gitward.controller.notify import Note, from_event, from_status, message
from gitward.controller.run import Controller
from tests.e2e import conftest as e2e
from tests.e2e.support import app_status, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

# The end-to-end fixtures (a Git server with the shop app, a running controller), shared as they are.
controller = e2e.controller
repo = e2e.repo


def test_sync_outcomes_drift_and_degraded_health_are_told_apart() -> None:
    first = {"metadata": {"name": "shop"}, "status": {}}
    assert from_event(first, "Synced", "synced to 0123456789ab") == (
        "sync-succeeded",
        "synced to 0123456789ab",
    )
    sha = "0123456789ab" + "c" * 28
    healed = {
        "operation": {"initiatedBy": {"automated": True}},
        "status": {"history": [{"revision": sha}, {"revision": sha}]},  # this sync's entry is already in
    }
    new_commit = {**healed, "status": {"history": [{"revision": "f" * 40}, {"revision": sha}]}}
    assert from_event(new_commit, "Synced", "synced to 0123456789ab") == (
        "sync-succeeded",
        "synced to 0123456789ab",
    )
    assert from_event(healed, "Synced", "synced to 0123456789ab")[0] == "drift-healed"  # type: ignore[index]
    by_hand = {**healed, "operation": {"initiatedBy": {"username": "ops"}}}
    assert from_event(by_hand, "Synced", "synced to 0123456789ab")[0] == "sync-succeeded"  # type: ignore[index]
    assert from_event(first, "Synced", "dry run of 0123456789ab") is None
    assert from_event(first, "SyncFailed", "one or more objects failed")[0] == "sync-failed"  # type: ignore[index]
    assert from_event(first, "SyncFailed", "Retrying attempt #1 at ...") is None  # only the final failure
    assert from_event(first, "ComparisonError", "deploy/x.yaml:3:1: bad") is None

    assert from_status(
        {"health": {"status": "Healthy"}}, {"health": {"status": "Degraded", "message": "x"}}
    ) == (
        "health-degraded",
        "health Degraded: x",
    )
    assert from_status({"health": {"status": "Degraded"}}, {"health": {"status": "Degraded"}}) is None
    body = message(Note("apps", "shop", "team", "sync-failed", "sync failed: boom"))
    assert body["text"] == "[sync-failed] apps/shop: sync failed: boom"
    assert body["attachments"][0]["color"] == "danger"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/{secrets.token_hex(8)}"

    def texts(self) -> list[str]:
        return [str(b.get("text")) for b in list(self.bodies)]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def project(namespace: str, name: str, annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
    }


@pytest.mark.cluster
async def test_a_project_webhook_hears_the_sync_and_the_healed_drift_and_the_url_stays_secret(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    receiver: Receiver,
) -> None:
    url, upstream = repo
    hook = receiver.url
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "team-slack", "namespace": namespace},
        "data": {"url": base64.b64encode(hook.encode()).decode()},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(secret))
    team = project(namespace, "team", {"gitward.dev/notify-webhook-secret": "team-slack"})
    # A project that asks for failures only hears nothing of a successful sync.
    quiet = project(
        namespace, "quiet", {"gitward.dev/notify-webhook-url": hook, "gitward.dev/notify-on": "sync-failed"}
    )
    cluster.kubectl(
        "apply", "-f", "-", stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": [team, quiet]})
    )
    targets: dict[str, str] = {}

    def create(name: str, team: str) -> None:
        targets[name] = f"{name}-{secrets.token_hex(3)}"
        cluster.kubectl("create", "namespace", targets[name])
        app = application(namespace, targets[name], url, name=name)
        app["spec"]["project"] = team
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    create("calm", "quiet")
    await until(
        lambda: (
            (app_status(cluster, namespace, "calm").get("operationState") or {}).get("phase") == "Succeeded"
        ),
        what="calm synced",
    )
    create("shop", "team")
    await until(
        lambda: any(t.startswith(f"[sync-succeeded] {namespace}/shop: synced to") for t in receiver.texts()),
        what="the sync-succeeded notification",
    )
    # One sender, first in first out: had calm's sync been sent, it would have arrived before shop's.
    assert not any("/calm" in t for t in receiver.texts())
    assert upstream.head()[:12] in receiver.texts()[0]

    cluster.kubectl("scale", "deployment", "web", "-n", targets["shop"], "--replicas=5")
    await until(
        lambda: any(t.startswith(f"[drift-healed] {namespace}/shop") for t in receiver.texts()),
        what="the drift-healed notification",
    )
    assert controller.notifier.sent == len(receiver.bodies)
    assert hook not in json.dumps(cluster.get_json("events", "-n", namespace))
