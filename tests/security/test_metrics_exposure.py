"""Finding 8: /metrics listed every app of every project to anyone, with credentials in repository URLs.

The attack: a caller without a token (or with a token for one project)
scrapes the API server's /metrics, and anyone who reaches the controller's
health port scrapes its /metrics, to read other teams' apps and the
`user:password@` or `?private_token=` a tenant left in a repoURL. Now the
API server's /metrics needs a token that covers every project (or a
metrics-only token), and no label of either process carries a credential.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.model.redact import MASK, redact_text, redact_url
from gitward.server.auth import Role, TokenError, create_token
from tests.e2e.support import install_crds, settings
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.server.conftest import Serve, client, free_port, serve, until_async  # noqa: F401

SECRETS = ("hunter2", "glpat-tok3n", "kubepass", "ghp_s3cr3t")
# URLs a tenant might write, each carrying one of SECRETS.
LEAKY = {
    "userinfo": "https://alice:hunter2@git.example/team-a/shop.git",
    "query": "https://git.example/team-a/shop.git?private_token=glpat-tok3n",
    "token-as-user": "https://ghp_s3cr3t@github.example/team-a/shop.git",
}
LEAKY_DESTINATION = "https://admin:kubepass@kube.example:6443"


# --- the redaction function, directly ---------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:hunter2@git.example/x.git", f"https://{MASK}@git.example/x.git"),
        ("https://ghp_s3cr3t@github.example/x", f"https://{MASK}@github.example/x"),
        ("https://git.example/x.git?private_token=glpat-tok3n", f"https://git.example/x.git?{MASK}"),
        ("https://git.example/x.git#glpat-tok3n", f"https://git.example/x.git#{MASK}"),
        ("ssh://git@git.example/x.git", "ssh://git@git.example/x.git"),  # an account name, kept
        ("ssh://git:hunter2@git.example/x.git", f"ssh://{MASK}@git.example/x.git"),
        ("git@git.example:team/x.git", "git@git.example:team/x.git"),
        ("alice:hunter2@git.example:team/x.git", f"{MASK}@git.example:team/x.git"),
        ("git::https://alice:hunter2@git.example/x", f"git::https://{MASK}@git.example/x"),
        ("https://alice:hunt/er2@git.example/x", f"https://{MASK}@git.example/x"),  # a '/' in it
        ("https://alice:hunter2@[::1", f"https://{MASK}@[::1"),  # unparseable: masked all the same
        ("https://git.example/team/x@v2", "https://git.example/team/x@v2"),  # '@' in a path
        ("", ""),
        ("shop", "shop"),
    ],
)
def test_redact_url_masks_credentials_and_keeps_the_rest(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_masks_every_url_in_a_message() -> None:
    message = (
        "application repo https://alice:hunter2@git.example/x.git is not permitted in project 'a';"
        " cannot pull chart from 'https://u:kubepass@charts.example/?token=glpat-tok3n'"
    )
    shown = redact_text(message)
    assert not any(secret in shown for secret in SECRETS), shown
    assert "git.example/x.git" in shown and "charts.example" in shown


@pytest.mark.cluster
async def test_a_metrics_token_may_cover_only_every_project(connection: Connection, namespace: str) -> None:
    with pytest.raises(TokenError, match="every project"):
        await create_token(connection, namespace, "scrape-a", Role.metrics, ["team-a"])


# --- against the real server and controller ---------------------------------------------------


def leaky_app(namespace: str, name: str, url: str, project: str = "default") -> dict[str, object]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "project": project,
            "destination": {"server": LEAKY_DESTINATION, "namespace": "elsewhere"},
            "source": {"repoURL": url, "path": "deploy", "targetRevision": "main"},
        },
    }


def app_info(text: str) -> dict[str, dict[str, str]]:
    """gitward_app_info's labels by app name."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return {s.labels["name"]: s.labels for s in families["gitward_app_info"].samples}


def assert_no_secret(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert not leaked, f"/metrics shows {leaked}"
    assert "alice:" not in text and "admin:" not in text


@pytest.mark.cluster
async def test_the_api_servers_metrics_need_a_token_for_every_project_and_show_no_credentials(
    cluster: Cluster,
    connection: Connection,
    namespace: str,
    serve: Serve,  # noqa: F811
    bystander: Bystander,
) -> None:
    for name, url in LEAKY.items():
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(leaky_app(namespace, name, url)))
    team_a = await create_token(connection, namespace, "team-a", Role.admin, ["team-a"])
    reader = await create_token(connection, namespace, "reader", Role.read_only, ["*"])
    scraper = await create_token(connection, namespace, "prometheus", Role.metrics, ["*"])

    async with serve() as url:
        async with client(url) as anonymous:
            refused = await anonymous.get("/metrics")
            assert refused.status_code == 401, refused.text
            assert "gitward_app_info" not in refused.text
        async with client(url, team_a) as partial:
            refused = await partial.get("/metrics")
            assert refused.status_code == 403 and "every project" in refused.json()["detail"]
        async with client(url, scraper) as prometheus:
            # The metrics token reads /metrics and nothing else.
            assert (await prometheus.get("/api/v1/applications")).status_code == 403

            async def listed() -> bool:
                answer = await prometheus.get("/metrics")
                assert answer.status_code == 200, answer.text
                return set(LEAKY) <= set(app_info(answer.text))

            await until_async(listed, what="the leaky apps in gitward_app_info")
            text = (await prometheus.get("/metrics")).text
            assert_no_secret(text)
            labels = app_info(text)
            assert labels["userinfo"]["repo"] == f"https://{MASK}@git.example/team-a/shop.git"
            assert labels["query"]["repo"] == f"https://git.example/team-a/shop.git?{MASK}"
            assert labels["userinfo"]["dest_server"] == f"https://{MASK}@kube.example:6443"
        async with client(url, reader) as everything:
            assert (await everything.get("/metrics")).status_code == 200  # a token of every project may
            # An error about the app (its repository cannot be fetched) names no credential either.
            answer = await everything.get(f"/api/v1/applications/{namespace}/userinfo/manifests")
            assert answer.status_code == 422, answer.text
            assert_no_secret(answer.text)
    await bystander.heals()


@pytest.mark.cluster
async def test_the_controllers_metrics_show_no_credentials(
    cluster: Cluster, connection: Connection, namespace: str, tmp_path: Path
) -> None:
    install_crds(cluster)
    for name, url in LEAKY.items():
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(leaky_app(namespace, name, url)))
    port = free_port()
    running = Controller(connection, settings(namespace, tmp_path / secrets.token_hex(3), health_port=port))
    task = asyncio.create_task(running.run())
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as probe:

            async def listed() -> bool:
                try:
                    answer = await probe.get("/metrics")
                except httpx.TransportError:
                    return False
                return set(LEAKY) <= set(app_info(answer.text))

            await until_async(listed, what="the controller's gitward_app_info to list the leaky apps")
            text = (await probe.get("/metrics")).text
            assert_no_secret(text)
            assert app_info(text)["token-as-user"]["repo"] == f"https://{MASK}@github.example/team-a/shop.git"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
