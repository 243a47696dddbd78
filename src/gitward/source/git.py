"""Running git: one asyncio subprocess per call, its failure turned into a typed SourceError."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gitward.source.credentials import Credentials, redact_url
from gitward.source.errors import (
    AuthenticationError,
    GitError,
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
    "operation timed out",
    "ssl",
)


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
        subcommand = next((a for a in args if not a.startswith("-") and "=" not in a), "")
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
    last_line = text.splitlines()[-1] if text else "no output"
    kind: type[SourceError]
    # git daemon says "access denied or repository not exported" for a path it does not serve.
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
