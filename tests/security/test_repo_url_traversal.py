"""Finding 2: `..` in a repoURL got past `sourceRepos` and borrowed another team's credentials.

`https://host/team-a/../team-b/x.git` matched team-a's `team-a/**` allow entry
and team-a's repo-creds prefix, and git (curl removes dot segments) fetched
`/team-b/x.git` with team-a's token. Here both teams' repositories sit behind
one HTTP Git server whose password team-a's repo-creds Secret holds (what a
host token with access to both looks like); each spelling of the traversal,
plain or percent-encoded, is applied as team-a's tenant would apply it.

Expected: an InvalidSpecError naming `spec.source.repoURL` (and a 422 naming it
from the API server's manifests endpoint), no mirror of any
team-b repository ever created in the controller's cache (so nothing was
fetched), nothing of team-b applied, and the bystander healed meanwhile.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from gitward.source import Credentials, RepoCache
from tests.e2e.support import app_status, application, condition, live, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.server.conftest import Serve, client, serve  # noqa: F401
from tests.source.servers import GIT_ENV, Upstream, http_git_server

pytestmark = pytest.mark.cluster

SECRET_CONFIG = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: team-b-secret
data:
  token: only-team-b-may-read-this
"""
TEAM_A_CONFIG = SECRET_CONFIG.replace("team-b-secret", "team-a-config").replace("only-team-b", "team-a")

# Every spelling that, read by curl, a proxy or the server, leads from team-a's prefix to team-b's repository.
TRAVERSALS = {
    "dots": "team-a/../team-b/x.git",
    "dot-dots": "team-a/./../team-b/x.git",
    "pct-lower": "team-a/%2e%2e/team-b/x.git",
    "pct-upper": "team-a/%2E%2E/team-b/x.git",
    "pct-mixed": "team-a/%2E./team-b/x.git",
    "pct-half": "team-a/.%2e/team-b/x.git",
    "pct-double": "team-a/%252e%252e/team-b/x.git",
    "pct-slash": "team-a/..%2fteam-b/x.git",
    "pct-backslash": "team-a/..%5cteam-b/x.git",
    "trailing": "team-a/x.git/../../team-b/x.git",
}


@pytest.fixture
def two_teams(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """team-a/app.git and team-b/x.git on one HTTP Git server with basic auth: (prefix, user, password)."""
    served = tmp_path / "teams"
    (served / "team-a").mkdir(parents=True)
    (served / "team-b").mkdir()
    Upstream(served / "team-a" / "app.git").commit({"deploy/config.yaml": TEAM_A_CONFIG})
    Upstream(served / "team-b" / "x.git").commit({"deploy/config.yaml": SECRET_CONFIG})
    with http_git_server(served) as (prefix, username, password):
        yield prefix, username, password


def apply(cluster: Cluster, manifest: dict[str, Any]) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))


def team_a_app(namespace: str, name: str, url: str, target: str) -> dict[str, Any]:
    app = application(namespace, target, url, name=name)
    app["spec"]["project"] = "team-a"
    return app


async def test_dot_segments_never_reach_another_teams_repository_with_this_teams_credentials(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    bystander: Bystander,
    connection: Connection,
    serve: Serve,  # noqa: F811
    two_teams: tuple[str, str, str],
    tmp_path: Path,
) -> None:
    prefix, username, password = two_teams
    # The premise: team-a's credentials do open team-b's repository on this host.
    premise = await RepoCache(tmp_path / "premise").resolve(
        f"{prefix}/team-b/x.git", "main", credentials=Credentials(username=username, password=password)
    )
    # The control: git itself (curl removes dot segments) reads team-b through the team-a path.
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    header = f"http.extraHeader=Authorization: Basic {basic}"
    control = subprocess.run(
        ["git", "-c", header, "ls-remote", "--", f"{prefix}/team-a/../team-b/x.git", "refs/heads/main"],
        env=GIT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert premise.sha in control.stdout, "git no longer follows dot segments; this test proves nothing"

    target = f"{namespace}-team-a"
    cluster.kubectl("create", "namespace", target)
    apply(
        cluster,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "team-a-creds",
                "namespace": namespace,
                "labels": {"gitward.dev/secret-type": "repo-creds"},
            },
            "stringData": {"url": f"{prefix}/team-a", "username": username, "password": password},
        },
    )
    apply(
        cluster,
        {
            "apiVersion": "gitward.dev/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "team-a", "namespace": namespace},
            "spec": {
                "sourceRepos": [f"{prefix}/team-a/**"],
                "destinations": [{"server": "*", "namespace": target}],
            },
        },
    )
    # The control: team-a's own repository syncs through the same project and Secret.
    apply(cluster, team_a_app(namespace, "legit", f"{prefix}/team-a/app.git", target))
    await until(lambda: live(cluster, "configmap", "team-a-config", target), timeout=90, what="team-a synced")

    for name, path in TRAVERSALS.items():
        apply(cluster, team_a_app(namespace, name, f"{prefix}/{path}", target))
    for name in TRAVERSALS:
        found = await until(
            lambda name=name: condition(app_status(cluster, namespace, name), "InvalidSpecError"),
            timeout=60,
            what=f"{name}: InvalidSpecError",
        )
        assert found["message"].startswith("spec.source.repoURL: "), found
        assert password not in found["message"]
    await bystander.heals()

    # The API server: a read-only token asking for the manifests gets the same refusal.
    token = await create_token(connection, namespace, "reader", Role.read_only, ["*"])
    async with serve() as server, client(server, token) as api:
        for name in TRAVERSALS:
            answer = await api.get(f"/api/v1/applications/{namespace}/{name}/manifests")
            assert answer.status_code == 422, answer.text
            assert "spec.source.repoURL" in answer.json()["detail"], answer.text
        await bystander.heals()
    assert not [p for p in (tmp_path / "server-git").glob("mirrors/*") if "team-b" in p.name]

    # Nothing of team-b was fetched (no mirror of it was even created) or applied.
    mirrors = sorted(p.name for p in (tmp_path / "git" / "mirrors").iterdir())
    assert mirrors and not [m for m in mirrors if "team-b" in m], mirrors
    assert live(cluster, "configmap", "team-b-secret", target) is None
    assert "team-b-secret" not in cluster.kubectl("get", "configmap", "-A", "-o", "name")
    # The legitimate app is still Synced: the refusals concern only the apps that asked.
    assert app_status(cluster, namespace, "legit").get("sync", {}).get("status") == "Synced"
