"""Repository credentials read from labelled Secrets in a real cluster, used against a real Git server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.engine.repo_credentials import load, match
from gitward.kube.connection import Connection
from gitward.source import AuthenticationError, RepoCache
from tests.helpers import Cluster
from tests.source.servers import Upstream, http_git_server

pytestmark = pytest.mark.cluster


def put_secret(cluster: Cluster, namespace: str, name: str, kind: str, **fields: str) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {"gitward.dev/secret-type": kind}},
        "stringData": fields,
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(secret))


@pytest.fixture
def private_repo(tmp_path: Path) -> Iterator[tuple[str, str, str, str]]:
    served = tmp_path / "served"
    served.mkdir()
    upstream = Upstream(served / "app")
    sha = upstream.commit({"deploy/cm.yaml": "kind: ConfigMap\n"})
    with http_git_server(served) as (prefix, username, password):
        yield f"{prefix}/app", username, password, sha


async def test_a_labelled_secret_opens_a_private_repository(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    private_repo: tuple[str, str, str, str],
    tmp_path: Path,
) -> None:
    url, username, password, sha = private_repo
    cache = RepoCache(tmp_path / "cache")
    with pytest.raises(AuthenticationError) as refused:
        await cache.resolve(url, "main")
    assert password not in str(refused.value)

    put_secret(cluster, namespace, "app-repo", "repository", url=url, username=username, password=password)
    known, problems = await load(connection, namespace)
    chosen = match(known, url + ".git")

    assert problems == []
    assert chosen is not None and chosen.origin == f"{namespace}/app-repo"
    resolved = await cache.resolve(url, "main", credentials=chosen.credentials)
    assert resolved.sha == sha


async def test_a_template_serves_every_repository_under_its_prefix_and_bad_secrets_are_named(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    private_repo: tuple[str, str, str, str],
    tmp_path: Path,
) -> None:
    url, username, password, sha = private_repo
    prefix = url.rsplit("/", 1)[0]
    put_secret(
        cluster, namespace, "org-creds", "repo-creds", url=prefix, username=username, password=password
    )
    put_secret(cluster, namespace, "no-url", "repository", password="leak-me-not")

    known, problems = await load(connection, namespace)

    assert len(problems) == 1 and f"{namespace}/no-url" in problems[0]
    assert "leak-me-not" not in problems[0]
    chosen = match(known, url)
    assert chosen is not None and chosen.template
    resolved = await RepoCache(tmp_path / "cache").resolve(url, "main", credentials=chosen.credentials)
    assert resolved.sha == sha
