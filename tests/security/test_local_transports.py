"""Finding 6: local Git transports were allowed as repoURLs.

`file://<cache>/git/mirrors/<other repo>` read another team's repository out
of gitward's own cache, without that repository's credentials; a bare local
path did the same; `fd::` held a git process until its timeout, and `ext::`
runs a command. Now only https, http, ssh (and scp-like) and git are allowed:
- in the spec, where each is an InvalidSpecError naming `spec.source.repoURL`;
- in every git run, through GIT_ALLOW_PROTOCOL (tested on git itself below,
  the layer that holds even if a URL got past the model);
- with the operator's opt-in (GITWARD_ALLOW_LOCAL_REPOS=1, `--allow-local-repos`),
  file:// and local paths work, but never into gitward's own cache.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitward.controller.run import Controller
from gitward.model.repo_url import ALLOW_LOCAL_ENV
from gitward.source.credentials import base_environment
from gitward.source.errors import SourceError
from gitward.source.git import GitRunner
from tests.e2e.support import app_status, application, condition, live, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander
from tests.source.servers import GIT_ENV, Upstream


def local_attacks(mirror: Path, upstream: Path, canary: Path) -> dict[str, str]:
    """name -> repoURL: every way to make git read this machine rather than a Git server."""
    return {
        "file-mirror": f"file://{mirror}",
        "path-mirror": str(mirror),
        "file-upstream": f"file://{upstream}",
        "path-upstream": str(upstream),
        "fd": "fd::0",
        "ext": f"ext::sh -c touch% {canary}",
    }


async def test_git_itself_refuses_local_and_command_transports(
    tmp_path: Path, canary: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream = Upstream(tmp_path / "other-team")
    upstream.commit({"secret.yaml": "token: only-the-other-team\n"})
    # The control: git's own default policy lets file:// and local paths through.
    plain = subprocess.run(
        ["git", "ls-remote", "--", f"file://{upstream.path}"], env=GIT_ENV, capture_output=True, text=True
    )
    assert plain.returncode == 0 and upstream.head() in plain.stdout

    monkeypatch.delenv(ALLOW_LOCAL_ENV, raising=False)
    runner = GitRunner()
    for name, url in local_attacks(upstream.path, upstream.path, canary).items():
        with pytest.raises(SourceError) as refused:
            await runner.run(["ls-remote", "--", url], env=base_environment(), url=url, timeout=20)
        assert "not allowed" in str(refused.value), (name, str(refused.value))
    assert not canary.exists()

    # With the operator's opt-in, file:// and local paths work; command transports never do.
    monkeypatch.setenv(ALLOW_LOCAL_ENV, "1")
    for url in (f"file://{upstream.path}", str(upstream.path)):
        out = await runner.run(["ls-remote", "--", url], env=base_environment(), url=url, timeout=20)
        assert upstream.head() in out.decode()
    with pytest.raises(SourceError, match="not allowed"):
        url = f"ext::sh -c touch% {canary}"
        await runner.run(["ls-remote", "--", url], env=base_environment(), url=url, timeout=20)


def applied(cluster: Cluster, target: str) -> list[str]:
    out = cluster.kubectl("get", "configmap,deployment", "-n", target, "-o", "name")
    return [line for line in out.split() if not line.endswith("/kube-root-ca.crt")]


@pytest.mark.cluster
async def test_local_repo_urls_are_refused_and_the_cache_is_never_read(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    canary: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, upstream = repo
    monkeypatch.delenv(ALLOW_LOCAL_ENV, raising=False)
    # The bystander's mirror: another team's repository, fetched with its credentials, in our cache.
    (mirror,) = (tmp_path / "git" / "mirrors").iterdir()
    attacks = local_attacks(mirror, upstream.path, canary)
    evil = f"{namespace}-evil"
    cluster.kubectl("create", "namespace", evil)
    for name, url in attacks.items():
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(application(namespace, evil, url, name=name)))
    for name in attacks:
        found = await until(
            lambda name=name: condition(app_status(cluster, namespace, name), "InvalidSpecError"),
            timeout=60,
            what=f"{name}: InvalidSpecError",
        )
        assert found["message"].startswith("spec.source.repoURL: "), found
        assert "not allowed" in found["message"], found
    await bystander.heals()
    assert applied(cluster, evil) == []

    # The operator's opt-in: file:// and local paths to a repository work; the cache stays closed.
    monkeypatch.setenv(ALLOW_LOCAL_ENV, "1")
    for name, url in attacks.items():
        target = f"{namespace}-{name}"
        cluster.kubectl("create", "namespace", target)
        cluster.kubectl(
            "apply", "-f", "-", stdin=json.dumps(application(namespace, target, url, name=f"opt-in-{name}"))
        )
    for name in ("file-upstream", "path-upstream"):
        await until(
            lambda name=name: live(cluster, "configmap", "settings", f"{namespace}-{name}"),
            timeout=90,
            what=f"opt-in-{name} synced from a local repository",
        )
    for name in ("file-mirror", "path-mirror"):
        found = await until(
            lambda name=name: condition(app_status(cluster, namespace, f"opt-in-{name}"), "ComparisonError"),
            timeout=60,
            what=f"opt-in-{name}: ComparisonError",
        )
        assert "gitward's own cache" in found["message"], found
        assert applied(cluster, f"{namespace}-{name}") == []
    for name in ("fd", "ext"):
        found = await until(
            lambda name=name: condition(app_status(cluster, namespace, f"opt-in-{name}"), "InvalidSpecError"),
            timeout=60,
            what=f"opt-in-{name}: InvalidSpecError",
        )
        assert f"'{name}':: transport is not allowed" in found["message"], found
        assert applied(cluster, f"{namespace}-{name}") == []
    await bystander.heals()
    assert not canary.exists()
