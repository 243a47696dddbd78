"""Running git: one asyncio subprocess per call, its failure turned into a typed SourceError."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import urlsplit

from gitward.source.credentials import Credentials, redact_url
from gitward.source.errors import (
    AuthenticationError,
    GitError,
    HostKeyError,
    RepositoryNotFound,
    RepositoryUnreachable,
    SourceError,
)

_AUTH = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "access denied",
    "permission denied",
    "http basic: access denied",
    "permission denied (publickey",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "host key verification failed",
)
_NOT_FOUND = (
    "repository not found",
    "does not appear to be a git repository",
    "the requested url returned error: 404",
    "no such repository",
    "not found",
)
_UNREACHABLE = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "unable to access",
    "unable to connect",
    "could not connect",
    "the remote end hung up",
    # A connection cut in the middle of a fetch (seen when a server went away mid-transfer).
    "expected flush after ref listing",
    "early eof",
    "unexpected disconnect",
    "operation timed out",
    "ssl",
)

# git's global options whose value is the next argument.
_VALUED_OPTIONS = frozenset({"--git-dir", "--work-tree", "-C", "-c"})


class GitRunner:
    """Runs the git binary; `calls` counts invocations per subcommand (figures and tests read it)."""

    def __init__(self, git: str = "git") -> None:
        self.git = git
        self.calls: dict[str, int] = {}

    async def run(
        self,
        args: Sequence[str],
        *,
        env: dict[str, str],
        url: str,
        credentials: Credentials | None = None,
        stdin: bytes | None = None,
        revision: str = "",
        timeout: float = 300.0,
    ) -> bytes:
        # Not the value of `--git-dir PATH` (the mirror's folder would name the failure otherwise).
        words = [a for i, a in enumerate(args) if i == 0 or args[i - 1] not in _VALUED_OPTIONS]
        subcommand = next((a for a in words if not a.startswith("-") and "=" not in a), "")
        self.calls[subcommand] = self.calls.get(subcommand, 0) + 1
        process = await asyncio.create_subprocess_exec(
            self.git,
            *args,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RepositoryUnreachable(
                f"git {subcommand} on {redact_url(url)} took longer than {timeout:.0f}s",
                url=url,
                revision=revision,
            ) from None
        except asyncio.CancelledError:
            # A cancelled caller (a stopping controller) must not leave git running on its own.
            process.kill()
            raise
        if process.returncode != 0:
            raise classify(err.decode(errors="replace"), url, credentials, subcommand, revision)
        return out


def classify(
    stderr: str, url: str, credentials: Credentials | None, subcommand: str, revision: str = ""
) -> SourceError:
    """A typed error from git's output, with secrets and URL user-info removed."""
    text = stderr.strip()
    if credentials is not None:
        text = credentials.scrub(text)
    text = text.replace(url, redact_url(url))
    lowered = text.lower()
    shown = redact_url(url)
    last_line = _detail(text)
    kind: type[SourceError]
    # git daemon says "access denied or repository not exported" for a path it does not serve.
    if "host key verification failed" in lowered:
        changed = "has changed" in lowered or "identification has changed" in lowered
        summary = (
            f"the host key of {ssh_host(url)} {'does not match' if changed else 'is not in'} the known hosts"
            f" given for {shown} (strict host key checking)"
        )
        if credentials is None:
            summary += " (no credentials were given for this repository)"
        return HostKeyError(summary, url=url, revision=revision)
    if "not exported" in lowered:
        kind, summary = RepositoryNotFound, f"repository {shown} not found"
    elif any(marker in lowered for marker in _AUTH):
        kind, summary = AuthenticationError, f"authentication to {shown} failed"
        if credentials is None:
            summary += " (no credentials were given for this repository)"
    elif any(marker in lowered for marker in _NOT_FOUND):
        kind, summary = RepositoryNotFound, f"repository {shown} not found"
    elif any(marker in lowered for marker in _UNREACHABLE):
        kind, summary = RepositoryUnreachable, f"cannot reach {shown}"
    else:
        kind, summary = GitError, f"git {subcommand} on {shown} failed"
    return kind(f"{summary}: {last_line}", url=url, revision=revision)


# What git adds after every ssh failure; the line before it says what went wrong.
_BOILERPLATE = (
    "fatal: could not read from remote repository.",
    "please make sure you have the correct access rights",
    "and the repository exists.",
)


def _detail(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    useful = [line for line in lines if line and line.lower() not in _BOILERPLATE]
    return useful[-1] if useful else "no output"


def ssh_host(url: str) -> str:
    """`[host]:port` or `host`, as ssh names a server in known_hosts."""
    if url.startswith("ssh://"):
        netloc = urlsplit(url).netloc.rpartition("@")[2]
        host, _, port = netloc.partition(":") if not netloc.startswith("[") else netloc.partition("]:")
        host = host.strip("[]")
        return f"[{host}]:{port}" if port and port != "22" else host
    return url.split(":", 1)[0].rpartition("@")[2]
