from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gitward.cli import app
from tests.source.servers import Upstream

runner = CliRunner()


def test_repo_resolve_prints_the_sha(tmp_path: Path, upstream: Upstream, daemon_url: str) -> None:
    upstream.tag("v1.4.0", annotated=True)
    result = runner.invoke(app, ["repo", "resolve", daemon_url, "^1.0", "--cache", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == upstream.head()


def test_repo_resolve_over_http_reads_the_password_from_the_environment(
    tmp_path: Path, upstream: Upstream, http_repo: tuple[str, str, str]
) -> None:
    url, username, password = http_repo
    args = ["repo", "resolve", url, "main", "--username", username, "--cache", str(tmp_path / "c")]
    ok = runner.invoke(app, args, env={"GITWARD_GIT_PASSWORD": password})
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == upstream.head()

    wrong = runner.invoke(app, args, env={"GITWARD_GIT_PASSWORD": "wrong-one"})
    assert wrong.exit_code == 1
    assert "authentication" in wrong.stderr
    assert "wrong-one" not in wrong.stderr


def test_an_unknown_revision_is_one_line_and_exit_1(
    tmp_path: Path, upstream: Upstream, daemon_url: str
) -> None:
    result = runner.invoke(
        app, ["repo", "resolve", daemon_url, "no-such-branch", "--cache", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert "no-such-branch" in result.stderr
