from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.source.servers import Upstream, git_daemon, http_git_server


@pytest.fixture
def served(tmp_path: Path) -> Path:
    path = tmp_path / "served"
    path.mkdir()
    return path


@pytest.fixture
def upstream(served: Path) -> Upstream:
    repo = Upstream(served / "app")
    repo.commit({"deploy/cm.yaml": "kind: ConfigMap\n"}, "first")
    return repo


@pytest.fixture
def daemon_url(served: Path, upstream: Upstream) -> Iterator[str]:
    with git_daemon(served) as prefix:
        yield f"{prefix}/app"


@pytest.fixture
def http_repo(served: Path, upstream: Upstream) -> Iterator[tuple[str, str, str]]:
    with http_git_server(served) as (prefix, username, password):
        yield f"{prefix}/app", username, password


@pytest.fixture
def counting_git(tmp_path: Path) -> tuple[str, Path]:
    """A `git` that logs each command line (never the environment) before running the real one."""
    log = tmp_path / "git-calls.log"
    wrapper = tmp_path / "git-wrapper"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\nexec git "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper), log
