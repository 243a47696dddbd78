"""Repository credentials, and how they reach git: through its environment only.

Nothing secret is ever put on a command line (any local user can read
/proc/*/cmdline) or in a log line: `repr` hides the values and `scrub` removes
them from git's own output before it becomes an error message.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gitward.model.redact import redact_url as redact_url  # its one home; re-exported for gitward.source
from gitward.model.repo_url import GIT_TRANSPORTS, local_repos_allowed


@dataclass(frozen=True)
class Credentials:
    """username/password or token for http(s); ssh_private_key (+ known hosts) for ssh."""

    username: str = ""
    password: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)
    ssh_known_hosts: str = ""

    def secrets(self) -> list[str]:
        basic = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        values = [self.password, self.token, self.ssh_private_key, basic if self.password else ""]
        return [v for v in values if v]

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, "********")
        return text


def allowed_protocols() -> str:
    """GIT_ALLOW_PROTOCOL's value: the remote transports git may use (file only on the operator's opt-in).

    The model already refuses other repoURLs; this is the same rule where git
    applies it, for every URL it is given (also submodules and redirects):
    `ext::` and `fd::` would run a command or hold a descriptor, `file` and
    local paths would read other repositories on this machine (other teams'
    mirrors in the cache among them).
    """
    return ":".join([*GIT_TRANSPORTS, *(["file"] if local_repos_allowed() else [])])


def base_environment() -> dict[str, str]:
    """The environment every git run starts from: no prompts, no user or system config, few transports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_ASKPASS"))}
    env.update(
        GIT_ALLOW_PROTOCOL=allowed_protocols(),
        GIT_TERMINAL_PROMPT="0",
        # A user's ~/.gitconfig (url.insteadOf, credential helpers) must not change what gitward fetches.
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ASKPASS="/bin/false",
        SSH_ASKPASS="/bin/false",
        LC_ALL="C",
    )
    return env


@contextlib.contextmanager
def git_environment(url: str, credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """The environment for one git run against `url`; temporary key files live only inside the block."""
    env = base_environment()
    if _is_ssh(url):
        # Even without credentials: ssh must never fall back on the user's keys, agent or prompts.
        with _ssh_command(credentials) as command:
            env["GIT_SSH_COMMAND"] = command
            yield env
        return
    if credentials is not None and urlsplit(url).scheme in ("http", "https"):
        header = _auth_header(credentials)
        if header:
            # Scoped to the repository's origin, so a redirect elsewhere never receives it.
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/"
            _add_config(env, [(f"http.{origin}.extraHeader", header)])
    yield env


@contextlib.contextmanager
def _ssh_command(credentials: Credentials | None) -> Iterator[str]:
    """ssh as gitward runs it: only the given key and known hosts, never the user's ~/.ssh or agent.

    The key and known hosts are files in a private temporary folder that exists
    only while git runs; the command line names the files, never their contents.
    """
    key_text = credentials.ssh_private_key if credentials else ""
    known_text = credentials.ssh_known_hosts if credentials else ""
    with tempfile.TemporaryDirectory(prefix="gitward-ssh-") as folder:
        known = Path(folder) / "known_hosts"
        _write_private(known, known_text)
        if key_text:
            key = Path(folder) / "key"
            _write_private(key, key_text.rstrip("\n") + "\n")
            identity = f"-i {shlex.quote(str(key))} -o IdentitiesOnly=yes"
        else:
            identity = "-o IdentityFile=none -o IdentitiesOnly=yes"
        yield " ".join(
            [
                "ssh",
                "-F /dev/null",
                identity,
                "-o IdentityAgent=none",
                "-o BatchMode=yes",
                "-o StrictHostKeyChecking=yes",
                f"-o UserKnownHostsFile={shlex.quote(str(known))}",
                "-o GlobalKnownHostsFile=/dev/null",
            ]
        )


def _auth_header(credentials: Credentials) -> str:
    if credentials.password:
        token = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
        return f"Authorization: Basic {token}"
    if credentials.token:
        return f"Authorization: Bearer {credentials.token}"
    return ""


def _add_config(env: dict[str, str], pairs: list[tuple[str, str]]) -> None:
    for i, (key, value) in enumerate(pairs):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    if pairs:
        env["GIT_CONFIG_COUNT"] = str(len(pairs))


def _is_ssh(url: str) -> bool:
    return url.startswith("ssh://") or ("://" not in url and ":" in url.split("/", 1)[0])


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
