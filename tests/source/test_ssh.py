"""Git over ssh against a real OpenSSH server on loopback, with keys from a repository Secret."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitward.engine.repo_credentials import from_secret, match
from gitward.source import AuthenticationError, Credentials, RepoCache
from tests.source.servers import Upstream
from tests.source.sshd import SshServer, keypair, ssh_git_server


@pytest.fixture
def sshd(tmp_path: Path, upstream: Upstream) -> Iterator[SshServer]:
    with ssh_git_server(tmp_path / "sshd") as server:
        yield server


@pytest.fixture
def ssh_url(sshd: SshServer, upstream: Upstream) -> str:
    return f"{sshd.prefix}{upstream.path}"


def repository_secret(**fields: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "app-ssh",
            "namespace": "gitward",
            "labels": {"gitward.dev/secret-type": "repository"},
        },
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()},
    }


def key_body(private_key: str) -> str:
    """A line from the middle of a private key: what a leak would show."""
    return private_key.splitlines()[2]


@pytest.fixture
def ssh_spy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `ssh` first on PATH that logs its arguments and its key file's mode, then runs the real one."""
    folder = tmp_path / "spy"
    folder.mkdir()
    log = folder / "ssh.log"
    (folder / "ssh").write_text(
        "#!/bin/sh\n"
        f'printf "argv %s\\n" "$*" >> {log}\n'
        "prev=\n"
        'for a in "$@"; do\n'
        f'  if [ "$prev" = "-i" ]; then printf "key %s %s\\n" "$a" "$(stat -c %a "$a")" >> {log}; fi\n'
        '  prev="$a"\n'
        "done\n"
        'exec /usr/bin/ssh "$@"\n'
    )
    (folder / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return log


async def test_a_repository_secret_with_an_ssh_key_resolves_and_checks_out(
    tmp_path: Path, upstream: Upstream, sshd: SshServer, ssh_url: str
) -> None:
    secret = repository_secret(
        url=ssh_url, sshPrivateKey=sshd.client_key.private, sshKnownHosts=sshd.known_hosts
    )
    credential = from_secret(secret)
    assert credential is not None and match([credential], ssh_url + ".git") is credential
    cache = RepoCache(tmp_path / "cache")

    resolved = await cache.resolve(ssh_url, "main", credentials=credential.credentials)
    tree = await cache.checkout(ssh_url, resolved.sha, credentials=credential.credentials)

    assert resolved.sha == upstream.head()
    assert (tree / "deploy/cm.yaml").read_text() == "kind: ConfigMap\n"
    later = upstream.commit({"deploy/svc.yaml": "kind: Service\n"})
    assert (await cache.resolve(ssh_url, "main", credentials=credential.credentials)).sha == later
    # The commits really came through sshd with that key.
    assert "Accepted publickey" in sshd.log.read_text()


async def test_the_key_reaches_ssh_in_a_private_file_named_only_in_the_environment(
    tmp_path: Path, sshd: SshServer, ssh_url: str, ssh_spy: Path, counting_git: tuple[str, Path]
) -> None:
    credentials = Credentials(ssh_private_key=sshd.client_key.private, ssh_known_hosts=sshd.known_hosts)
    cache = RepoCache(tmp_path / "cache", git=counting_git[0])

    sha = (await cache.resolve(ssh_url, "main", credentials=credentials)).sha
    await cache.checkout(ssh_url, sha, credentials=credentials)

    git_argv = counting_git[1].read_text()
    ssh_log = ssh_spy.read_text()
    assert "fetch" in git_argv
    assert key_body(sshd.client_key.private) not in git_argv + ssh_log
    key_files = [line.split()[1:] for line in ssh_log.splitlines() if line.startswith("key ")]
    assert key_files, "ssh was not given a key file"
    for path, mode in key_files:
        assert mode == "600"
        assert not Path(path).exists(), "the key file outlived the git run"
        assert not Path(path).parent.exists()


async def test_an_unknown_host_key_is_refused(tmp_path: Path, sshd: SshServer, ssh_url: str) -> None:
    impostor = keypair(tmp_path / "other", "impostor").public
    port_host = sshd.known_hosts.split()[0]
    cache = RepoCache(tmp_path / "cache")
    for known_hosts in ("", f"{port_host} {impostor}\n"):
        credentials = Credentials(ssh_private_key=sshd.client_key.private, ssh_known_hosts=known_hosts)
        with pytest.raises(AuthenticationError) as refused:
            await cache.resolve(ssh_url, "main", credentials=credentials)
        message = str(refused.value)
        assert "host key" in message and port_host in message
        assert key_body(sshd.client_key.private) not in message
    assert "Accepted publickey" not in sshd.log.read_text()


async def test_a_wrong_key_is_refused_with_a_clear_error_without_the_key(
    tmp_path: Path, sshd: SshServer, ssh_url: str
) -> None:
    wrong = keypair(tmp_path / "wrong", "wrong").private
    credentials = Credentials(ssh_private_key=wrong, ssh_known_hosts=sshd.known_hosts)
    with pytest.raises(AuthenticationError) as refused:
        await RepoCache(tmp_path / "cache").resolve(ssh_url, "main", credentials=credentials)
    message = str(refused.value)
    assert "authentication to" in message and "publickey" in message
    assert key_body(wrong) not in message and key_body(wrong) not in repr(credentials)


async def test_no_credentials_for_an_ssh_repository_fail_at_once_and_say_so(
    tmp_path: Path, sshd: SshServer, ssh_url: str
) -> None:
    with pytest.raises(AuthenticationError, match="no credentials were given"):
        await RepoCache(tmp_path / "cache").resolve(ssh_url, "main")
    assert "Accepted publickey" not in sshd.log.read_text()
