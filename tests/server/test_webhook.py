"""POST /api/webhook against the real cluster: a real `git push`, then a signed webhook, brings the change in.

The controller here polls Git every ten minutes, so only the webhook's refresh
can bring a pushed commit into the cluster within the test.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from tests.e2e.support import CONFIG, DEPLOYMENT, app_status, application, live, until
from tests.helpers import Cluster
from tests.server.conftest import Serve, client
from tests.source.servers import Upstream, git

pytestmark = pytest.mark.cluster

SECRET = "whsec-" + secrets.token_hex(8)


class Clone:
    """A developer's clone of the served repository, pushing with `git push` as anyone would."""

    def __init__(self, upstream: Upstream, folder: Path) -> None:
        # The served repository has `main` checked out: let a push update it (and its files).
        git(upstream.path, "config", "receive.denyCurrentBranch", "updateInstead")
        folder.parent.mkdir(parents=True, exist_ok=True)
        git(folder.parent, "clone", "--quiet", str(upstream.path), folder.name)
        self.path = folder

    def push(self, files: dict[str, str]) -> tuple[str, str, list[str]]:
        """Commit and push `files`; (before, after, changed paths) as a host reports them."""
        before = git(self.path, "rev-parse", "HEAD")
        for name, text in files.items():
            (self.path / name).parent.mkdir(parents=True, exist_ok=True)
            (self.path / name).write_text(text)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "-m", "change")
        git(self.path, "push", "--quiet", "origin", "HEAD:main")
        after = git(self.path, "rev-parse", "HEAD")
        return before, after, git(self.path, "diff", "--name-only", before, after).splitlines()


def github_payload(url: str, before: str, after: str, changed: list[str], hook: int = 0) -> bytes:
    payload: dict[str, Any] = {
        "hook_id": hook,
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": {"name": "shop", "clone_url": url, "html_url": url, "default_branch": "main"},
        "commits": [{"id": after, "added": [], "modified": changed, "removed": []}],
    }
    return json.dumps(payload).encode()


def github_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
    }


def webhook_secret(cluster: Cluster, namespace: str, values: dict[str, str] | None = None) -> None:
    values = values or {"github.secret": SECRET}
    literals = [f"--from-literal={key}={value}" for key, value in values.items()]
    cluster.kubectl("create", "secret", "generic", "gitward-webhook", "-n", namespace, *literals)


def two_apps(cluster: Cluster, namespace: str, url: str, upstream: Upstream) -> dict[str, str]:
    """Apps a and b (paths apps/a and apps/b, each a ConfigMap, red in Git): their target namespaces."""
    upstream.commit(
        {"apps/a/config.yaml": CONFIG.format(colour="red"), "apps/b/config.yaml": CONFIG.format(colour="red")}
    )
    targets = {name: f"{name}-{secrets.token_hex(3)}" for name in ("a", "b")}
    for name, target in targets.items():
        cluster.kubectl("create", "namespace", target)
        app = application(namespace, target, url, name=name, path=f"apps/{name}")
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    return targets


def colour(cluster: Cluster, target: str) -> str | None:
    found = live(cluster, "configmap", "settings", target)
    return found["data"]["colour"] if found else None


@pytest.fixture
async def scraper(connection: Connection, namespace: str) -> str:
    """A metrics token, as Prometheus would hold: /metrics needs one."""
    return await create_token(connection, namespace, "prometheus", Role.metrics, ["*"])


async def patches_written(http: httpx.AsyncClient) -> float:
    """The server's own count of refresh annotations it wrote."""
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    families = text_string_to_metric_families(answer.text)
    return sum(
        s.value
        for f in families
        if f.name == "gitward_webhook_refresh_patches"
        for s in f.samples
        if s.name.endswith("_total") and s.labels.get("result") == "written"
    )


def app_annotations(cluster: Cluster, namespace: str, name: str) -> dict[str, str]:
    found: dict[str, Any] = cluster.get_json("applications.gitward.dev", name, "-n", namespace)
    return dict(found["metadata"].get("annotations") or {})


async def test_a_signed_push_webhook_brings_the_pushed_commit_into_the_cluster(
    cluster: Cluster,
    namespace: str,
    slow_poll: Controller,
    repo: tuple[str, Upstream],
    serve: Serve,
    tmp_path: Path,
    scraper: str,
) -> None:
    url, upstream = repo
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    webhook_secret(cluster, namespace)
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, target, url)))
    first = upstream.head()
    await until(
        lambda: app_status(cluster, namespace, "shop").get("sync", {}).get("revision") == first,
        what="the first revision synced",
    )
    before, after, changed = Clone(upstream, tmp_path / "clone").push(
        {"deploy/web.yaml": DEPLOYMENT.format(replicas=3)}
    )
    assert changed == ["deploy/web.yaml"]
    body = github_payload(url, before, after, changed)

    async with serve() as api, client(api, scraper) as http:
        written = await patches_written(http)  # the counter is the process's: other tests' patches are in it
        forged = await http.post("/api/webhook", content=body, headers=github_headers(body, "not-the-secret"))
        assert forged.status_code == 401, forged.text
        assert SECRET not in forged.text
        unsigned = await http.post("/api/webhook", content=body, headers={"X-GitHub-Event": "push"})
        assert unsigned.status_code == 401
        # No GitLab secret is configured: the answer must not say so, only what a wrong token gets.
        gitlab = await http.post(
            "/api/webhook", content=body, headers={"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}
        )
        assert gitlab.status_code == 401
        assert gitlab.json()["detail"] == forged.json()["detail"].replace("github", "gitlab")
        assert unsigned.json()["detail"] == forged.json()["detail"]
        assert await patches_written(http) == written
        assert "gitward.dev/refresh" not in app_annotations(cluster, namespace, "shop")
        assert live(cluster, "deployment", "web", target)["spec"]["replicas"] == 2  # type: ignore[index]

        anonymous = await http.post(
            "/api/webhook", content=body, headers={"Content-Type": "application/json"}
        )
        assert anonymous.status_code == 400 and "X-GitHub-Event" in anonymous.text
        ping = await http.post(
            "/api/webhook", content=body, headers={**github_headers(body), "X-GitHub-Event": "ping"}
        )
        assert ping.status_code == 202 and "not a push" in ping.json()["ignored"]

        accepted = await http.post("/api/webhook", content=body, headers=github_headers(body))
        assert accepted.status_code == 202, accepted.text
        assert accepted.json() == {"provider": "github", "duplicate": False, "refreshed": 1}
        await until(
            lambda: (live(cluster, "deployment", "web", target) or {}).get("spec", {}).get("replicas") == 3,
            what="the pushed replica count applied",
        )
        status = await until(
            lambda: (
                (s := app_status(cluster, namespace, "shop")).get("sync", {}).get("status") == "Synced"
                and s["sync"].get("revision") == after
                and s
            ),
            what="the app Synced at the pushed commit",
        )
        assert status["sync"]["revision"] == after
        await until(
            lambda: "gitward.dev/refresh" not in app_annotations(cluster, namespace, "shop"),
            what="the controller to clear the refresh request",
        )


async def test_pushes_refresh_only_apps_whose_path_they_touch_and_a_flood_is_coalesced(
    cluster: Cluster,
    namespace: str,
    slow_poll: Controller,
    repo: tuple[str, Upstream],
    serve: Serve,
    tmp_path: Path,
    scraper: str,
) -> None:
    url, upstream = repo
    targets = two_apps(cluster, namespace, url, upstream)
    webhook_secret(cluster, namespace)
    await until(
        lambda: colour(cluster, targets["a"]) == colour(cluster, targets["b"]) == "red",
        what="both apps synced",
    )
    before, after, changed = Clone(upstream, tmp_path / "clone").push(
        {"apps/a/config.yaml": CONFIG.format(colour="green")}
    )

    async with serve() as api, client(api, scraper) as http:
        earlier = await patches_written(http)
        elsewhere = github_payload(url.replace("/shop", "/elsewhere"), before, after, changed)
        unknown = await http.post("/api/webhook", content=elsewhere, headers=github_headers(elsewhere))
        assert unknown.status_code == 202 and unknown.json()["refreshed"] == 0

        gate = asyncio.Semaphore(25)

        async def post(copy: int) -> int:
            # Distinct deliveries of the same push (as from many hooks): an identical body is a replay.
            body = github_payload(url, before, after, changed, copy)
            async with gate:
                answer = await http.post("/api/webhook", content=body, headers=github_headers(body))
                assert answer.json()["refreshed"] == 1  # the push touched apps/a alone
                return answer.status_code

        codes = await asyncio.gather(*(post(copy) for copy in range(1000)))
        assert set(codes) == {202}
        await until(lambda: colour(cluster, targets["a"]) == "green", what="app a to get the pushed colour")
        await until(
            lambda: "gitward.dev/refresh" not in app_annotations(cluster, namespace, "a"),
            what="the last refresh request cleared",
        )
        # A patch waits for the controller to finish the previous refresh, and none is needed once
        # the app reports the pushed commit: one or two, not 1,000; all for app a (no answer named b).
        written = await patches_written(http) - earlier
        print(f"refresh patches written for 1,000 pushes: {written:.0f}")
        assert 1 <= written <= 3, written

    assert colour(cluster, targets["b"]) == "red"
    assert "gitward.dev/refresh" not in app_annotations(cluster, namespace, "b")


def bitbucket_server_payload(url: str, before: str, after: str, changed: list[str]) -> bytes:
    """repo:refs_changed as Bitbucket Server sends it: clone links and refs, no file list."""
    payload: dict[str, Any] = {
        "eventKey": "repo:refs_changed",
        "actor": {"name": "dev"},
        "repository": {"slug": "shop", "links": {"clone": [{"href": url, "name": "http"}]}},
        "changes": [
            {
                "ref": {"id": "refs/heads/main", "displayId": "main", "type": "BRANCH"},
                "refId": "refs/heads/main",
                "fromHash": before,
                "toHash": after,
                "type": "UPDATE",
            }
        ],
    }
    return json.dumps(payload).encode()


def bitbucket_server_headers(
    body: bytes, secret: str = SECRET, event: str = "repo:refs_changed"
) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Event-Key": event,
        "X-Hub-Signature": f"sha256={signature}",
        "Content-Type": "application/json",
    }


def gogs_payload(url: str, before: str, after: str, changed: list[str]) -> bytes:
    payload: dict[str, Any] = {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "commits": [{"id": after, "added": [], "modified": changed, "removed": []}],
        "repository": {"full_name": "dev/shop", "clone_url": url, "html_url": url, "default_branch": "main"},
    }
    return json.dumps(payload).encode()


def gogs_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Gogs-Event": event, "X-Gogs-Signature": signature, "Content-Type": "application/json"}


PROVIDERS = {
    "bitbucketserver": (bitbucket_server_payload, bitbucket_server_headers),
    "gogs": (gogs_payload, gogs_headers),
}


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_bitbucket_server_and_gogs_pushes_refresh_the_apps_of_their_repository(
    provider: str,
    cluster: Cluster,
    namespace: str,
    slow_poll: Controller,
    repo: tuple[str, Upstream],
    serve: Serve,
    tmp_path: Path,
    scraper: str,
) -> None:
    payload, headers = PROVIDERS[provider]
    url, upstream = repo
    targets = two_apps(cluster, namespace, url, upstream)
    # Another provider's secret is there too, and must not sign for this one.
    webhook_secret(cluster, namespace, {f"{provider}.secret": SECRET, "github.secret": f"{SECRET}-github"})
    await until(
        lambda: colour(cluster, targets["a"]) == colour(cluster, targets["b"]) == "red",
        what="both apps synced",
    )
    before, after, changed = Clone(upstream, tmp_path / "clone").push(
        {"apps/a/config.yaml": CONFIG.format(colour="green")}
    )
    body = payload(url, before, after, changed)

    async with serve() as api, client(api, scraper) as http:
        written = await patches_written(http)
        for forged in (headers(body, "not-the-secret"), headers(body, f"{SECRET}-github")):
            refused = await http.post("/api/webhook", content=body, headers=forged)
            assert refused.status_code == 401, refused.text
            assert SECRET not in refused.text
        unsigned = {k: v for k, v in headers(body).items() if "Signature" not in k}
        assert (await http.post("/api/webhook", content=body, headers=unsigned)).status_code == 401
        elsewhere = payload(url.replace("/shop", "/elsewhere"), before, after, changed)
        unknown = await http.post("/api/webhook", content=elsewhere, headers=headers(elsewhere))
        assert unknown.status_code == 202 and unknown.json()["refreshed"] == 0
        if provider == "bitbucketserver":
            ping = json.dumps({"test": True}).encode()
            pong = await http.post(
                "/api/webhook", content=ping, headers=headers(ping, event="diagnostics:ping")
            )
            assert pong.status_code == 200, pong.text
        assert await patches_written(http) == written
        assert colour(cluster, targets["a"]) == "red"
        for name in ("a", "b"):
            assert "gitward.dev/refresh" not in app_annotations(cluster, namespace, name)

        accepted = await http.post("/api/webhook", content=body, headers=headers(body))
        assert accepted.status_code == 202, accepted.text
        # Gogs lists the changed files, so only app a is concerned; Bitbucket Server lists none,
        # so every app on the repository and branch is refreshed.
        expected = ["a"] if provider == "gogs" else ["a", "b"]
        assert accepted.json()["refreshed"] == len(expected)
        await until(lambda: colour(cluster, targets["a"]) == "green", what="app a to get the pushed colour")
        await until(
            lambda: app_status(cluster, namespace, "a").get("sync", {}).get("revision") == after,
            what="app a at the pushed commit",
        )
        for name in expected:
            await until(
                lambda name=name: "gitward.dev/refresh" not in app_annotations(cluster, namespace, name),
                what=f"app {name}'s refresh request cleared",
            )
        assert await patches_written(http) - written >= len(expected)

    assert colour(cluster, targets["b"]) == "red"
