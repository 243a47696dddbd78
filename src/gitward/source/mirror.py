"""One bare, blobless mirror of one repository URL, shared by every app that uses it.

Fetches are coalesced: a caller asking for fresh refs joins the next fetch
that has not started yet, so any number of callers that ask together cost one
`git fetch`, and nobody is served a fetch that began before they asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from prometheus_client import Histogram

from gitward.model.repo_url import RepoURLError, local_repos_allowed, normalise
from gitward.source.credentials import Credentials, git_environment, redact_url
from gitward.source.errors import RepositoryURLRefused, SourceError
from gitward.source.git import GitRunner

# Refs we copy: branches, tags, and the remote's HEAD under a name of our own
# (fetch never moves a bare repository's HEAD). Forced, because upstream
# force-pushes must be mirrored, and pruned, so a deleted branch stops resolving.
_REFSPECS = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", "+HEAD:refs/gitward/remote-head")
REMOTE_HEAD = "refs/gitward/remote-head"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Served by the controller's /metrics; defined here because only this module sees a fetch happen.
FETCH_SECONDS = Histogram(
    "gitward_git_fetch_duration_seconds",
    "Duration of one git fetch into a repository mirror.",
    ["repo"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def checked_url(url: str) -> str:
    """The URL's normal form (gitward.model.repo_url), or RepositoryURLRefused before any git runs.

    The model refuses such URLs already; this is for every other way in (CLI
    commands, tests, a spec parsed before the operator changed the opt-in).
    """
    try:
        return normalise(url, allow_local=local_repos_allowed())
    except RepoURLError as problem:
        raise RepositoryURLRefused(
            f"repository URL {redact_url(url)!r} refused: {problem}", url=url
        ) from None


def mirror_key(url: str) -> str:
    """A folder name for a URL: one per repository, however it is spelled (`x`, `x/`, `x.git`, Host case).

    The path keeps its case (a server may tell `/A` from `/a`); a refused URL has no key.
    """
    normal = checked_url(url).rstrip("/").removesuffix(".git")
    parts = urlsplit(normal)
    readable = _UNSAFE.sub("_", (parts.netloc.rpartition("@")[2] + parts.path) or normal).strip("_")
    digest = hashlib.sha256(normal.encode()).hexdigest()[:16]
    return f"{readable[-60:]}-{digest}"


class Mirror:
    def __init__(self, url: str, folder: Path, runner: GitRunner) -> None:
        self.url = url
        self.folder = folder
        self.runner = runner
        self.credentials: Credentials | None = None
        # Held by anything that writes objects: a fetch, or a checkout's lazy blob fetch.
        self.lock = asyncio.Lock()
        self._refs: dict[str, str] | None = None
        self._next: asyncio.Future[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._commits: dict[str, str] = {}
        # Event-loop time at which the last successful fetch started (see refresh's max_age).
        self._fetched_at: float | None = None

    @contextlib.contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        with git_environment(self.url, self.credentials) as env:
            yield env

    async def git(self, *args: str, revision: str = "") -> bytes:
        with self.environment() as env:
            return await self.runner.run(
                ["--git-dir", str(self.folder), *args],
                env=env,
                url=self.url,
                credentials=self.credentials,
                revision=revision,
            )

    async def refresh(self, max_age: float = 0.0) -> None:
        """Fetch, sharing the fetch with every caller that asks before it starts.

        With `max_age`, a successful fetch that started at most that many seconds ago is
        enough: a thousand apps of one repository polled in turn then cost a fetch every
        `max_age` seconds rather than one each.
        """
        now = asyncio.get_running_loop().time()
        if max_age > 0 and self._fetched_at is not None and now - self._fetched_at <= max_age:
            return
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiter = self._next
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._fetch_loop())
        # shield: one cancelled caller must not cancel the fetch the others are waiting on.
        await asyncio.shield(waiter)

    async def _fetch_loop(self) -> None:
        while self._next is not None:
            waiter, self._next = self._next, None
            try:
                async with self.lock:
                    started = asyncio.get_running_loop().time()
                    await self._fetch()
                    self._fetched_at = started
            except asyncio.CancelledError:
                waiter.cancel()
                raise
            except Exception as problem:  # every caller of this round gets the same error
                waiter.set_exception(problem)
                waiter.exception()  # counted as seen even if every caller was cancelled meanwhile
            else:
                waiter.set_result(None)

    async def _fetch(self) -> None:
        if not (self.folder / "HEAD").exists():
            await self._create()
        with FETCH_SECONDS.labels(redact_url(self.url)).time():
            await self.git(
                "fetch", "--quiet", "--prune", "--no-tags", "--filter=blob:none", "--", "origin", *_REFSPECS
            )
        self._refs = None

    async def _create(self) -> None:
        """An empty bare repository set up as a partial clone of the URL."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        with self.environment() as env:
            await self.runner.run(
                ["init", "--quiet", "--bare", "--", str(self.folder)], env=env, url=self.url
            )
        for key, value in (
            ("core.repositoryformatversion", "1"),
            ("extensions.partialClone", "origin"),
            ("remote.origin.url", self.url),
            ("remote.origin.promisor", "true"),
            ("remote.origin.partialclonefilter", "blob:none"),
            # Pruned refs leave unreachable commits that a previously resolved revision
            # may still need; never let an automatic gc drop them.
            ("gc.auto", "0"),
        ):
            await self.git("config", "--", key, value)

    async def refs(self) -> dict[str, str]:
        """Every branch and tag (and REMOTE_HEAD) with the commit it points to; tags are peeled."""
        if self._refs is None:
            if not (self.folder / "HEAD").exists():
                return {}
            out = await self.git(
                "for-each-ref",
                "--format=%(objectname) %(objecttype) %(*objectname) %(*objecttype) %(refname)",
                "refs/heads",
                "refs/tags",
                REMOTE_HEAD,
            )
            refs: dict[str, str] = {}
            for line in out.decode().splitlines():
                sha, kind, peeled, peeled_kind, name = line.split(" ", 4)
                if kind == "commit":
                    refs[name] = sha
                elif kind == "tag" and peeled_kind == "commit":
                    refs[name] = peeled
            self._refs = refs
        return self._refs

    async def commit(self, revision: str) -> str | None:
        """The full SHA of a commit named by a (short) SHA, if the mirror has it."""
        known = self._commits.get(revision)
        if known:
            return known
        if not (self.folder / "HEAD").exists():
            return None
        try:
            out = await self.git(
                "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
            )
        except SourceError:
            return None
        sha = out.decode().strip()
        if sha.startswith(revision.lower()):
            self._commits[revision] = sha
            return sha
        return None

    async def fetch_commit(self, sha: str) -> None:
        """Ask for one commit by SHA (servers allow it for reachable commits with protocol v2)."""
        async with self.lock:
            with contextlib.suppress(SourceError):
                await self.git("fetch", "--quiet", "--filter=blob:none", "--", "origin", sha)

    async def is_ancestor(self, old: str, new: str) -> bool:
        try:
            await self.git("merge-base", "--is-ancestor", "--end-of-options", old, new)
        except SourceError:
            return False
        return True
