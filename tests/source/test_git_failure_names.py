"""A failed git command is named by its subcommand, and a fetch cut mid-transfer is a network problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.source import GitError, RepositoryUnreachable
from gitward.source.credentials import base_environment
from gitward.source.git import GitRunner, classify


async def test_the_subcommand_names_the_failure_not_the_mirror_folder(tmp_path: Path) -> None:
    runner = GitRunner()
    missing = tmp_path / "no-mirror"
    with pytest.raises(GitError) as failure:
        await runner.run(
            ["--git-dir", str(missing), "rev-parse", "HEAD"], env=base_environment(), url="git://host/app"
        )
    assert str(failure.value).startswith("git rev-parse on git://host/app failed")
    assert runner.calls == {"rev-parse": 1}


def test_a_connection_cut_during_a_fetch_is_unreachable_not_a_git_bug() -> None:
    for stderr in ("fatal: expected flush after ref listing", "fatal: early EOF"):
        error = classify(stderr, "http://127.0.0.1:9/shop", None, "fetch")
        assert isinstance(error, RepositoryUnreachable), stderr
        assert str(error).startswith("cannot reach http://127.0.0.1:9/shop")
