"""The repository cache: revisions resolved to commits, and commits materialised as read-only trees.

Layout under the cache folder:
  git/mirrors/<url-key>/         bare, blobless mirror (one per URL, shared by every app)
  git/trees/<url-key>/<sha>/     a commit's files, read-only, written once
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from gitward.cachedir import cache_root
from gitward.model.repo_url import local_path
from gitward.readonly import make_read_only, remove_tree
from gitward.source.credentials import Credentials, redact_url
from gitward.source.errors import GitError, RepositoryURLRefused, RevisionNotFound, SourceError
from gitward.source.git import GitRunner
from gitward.source.mirror import REMOTE_HEAD, Mirror, mirror_key
from gitward.source.semver import Constraint, ConstraintError, Version

_HEX = re.compile(r"^[0-9a-fA-F]{4,40}$")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def default_root() -> Path:
    """`<cache root>/git`, beside the toolchains (see gitward.cachedir)."""
    return cache_root() / "git"


@dataclass(frozen=True)
class Resolution:
    """What a revision means now.

    `ref` is the branch or tag it matched ("" for a SHA); `previous` is what the
    same revision resolved to last time in this process; `forced` says the
    branch moved to a commit that does not contain `previous` (a force-push).
    """

    sha: str
    revision: str
    ref: str
    previous: str | None = None
    forced: bool = False


class RepoCache:
    def __init__(self, root: Path | None = None, *, git: str = "git") -> None:
        self.root = root or default_root()
        self.runner = GitRunner(git)
        self._mirrors: dict[str, Mirror] = {}
        self._last: dict[tuple[str, str], str] = {}
        self._trees: dict[tuple[str, str], Path] = {}
        self._checkouts: dict[tuple[str, str], asyncio.Task[Path]] = {}
        self._ancestry: dict[tuple[str, str, str], asyncio.Task[bool]] = {}

    def mirror(self, url: str, credentials: Credentials | None = None) -> Mirror:
        key = mirror_key(url)
        self._refuse_own_folders(url)
        found = self._mirrors.get(key)
        if found is None:
            found = self._mirrors[key] = Mirror(url, self.root / "mirrors" / key, self.runner)
        if credentials is not None:
            found.credentials = credentials
        return found

    def _refuse_own_folders(self, url: str) -> None:
        """Even with local repositories allowed, never the cache's own mirrors and trees.

        They hold other repositories' objects, fetched with those repositories'
        credentials: `file://<cache>/mirrors/<other>` would read them without any.
        """
        path = local_path(url)
        if path is not None and Path(path).resolve().is_relative_to(self.root.resolve()):
            raise RepositoryURLRefused(
                f"repository URL {redact_url(url)!r} refused: it points into gitward's own cache", url=url
            )

    def last_resolved(self, url: str, revision: str) -> str | None:
        return self._last.get((mirror_key(url), revision))

    async def resolve(
        self,
        url: str,
        revision: str = "HEAD",
        *,
        credentials: Credentials | None = None,
        refresh: bool = True,
        max_age: float = 0.0,
    ) -> Resolution:
        """The commit `revision` names, after a (coalesced) fetch unless refresh=False.

        `max_age`: a fetch that started at most that many seconds ago will do (see Mirror.refresh).

        On failure the SourceError carries `last_sha`, which stays checkout-able.
        """
        revision = revision.strip() or "HEAD"
        mirror = self.mirror(url, credentials)
        memo = (mirror_key(url), revision)
        previous = self._last.get(memo)
        try:
            sha, ref = await self._lookup(mirror, revision, refresh, max_age)
        except SourceError as problem:
            problem.revision = revision
            problem.last_sha = previous
            raise
        self._last[memo] = sha
        forced = False
        if previous is not None and previous != sha and ref.startswith("refs/heads/"):
            forced = not await self._is_ancestor(mirror, previous, sha)
        return Resolution(sha, revision, ref, previous, forced)

    async def _lookup(
        self, mirror: Mirror, revision: str, refresh: bool, max_age: float = 0.0
    ) -> tuple[str, str]:
        if _HEX.match(revision):
            # A commit we already hold never changes: no fetch needed.
            known = await mirror.commit(revision)
            if known:
                return known, ""
        if refresh:
            await mirror.refresh(max_age)
        refs = await mirror.refs()
        if revision == "HEAD":
            if REMOTE_HEAD in refs:
                return refs[REMOTE_HEAD], "HEAD"
            raise RevisionNotFound(f"{mirror.url} has no HEAD (an empty repository?)", url=mirror.url)
        # Argo CD's order: a branch, then a tag, then a commit, then a version range over tags.
        for ref in (f"refs/heads/{revision}", f"refs/tags/{revision}", revision):
            if ref.startswith("refs/") and ref in refs and ref != REMOTE_HEAD:
                return refs[ref], ref
        if _HEX.match(revision):
            known = await mirror.commit(revision)
            if known is None and len(revision) == 40:
                await mirror.fetch_commit(revision.lower())
                known = await mirror.commit(revision)
            if known:
                return known, ""
        match = _best_tag(refs, revision)
        if match is not None:
            return match
        raise RevisionNotFound(
            f"no branch, tag, commit or version tag matches {revision!r} in {mirror.url}", url=mirror.url
        )

    async def _is_ancestor(self, mirror: Mirror, old: str, new: str) -> bool:
        key = (mirror_key(mirror.url), old, new)
        task = self._ancestry.get(key)
        if task is None:
            task = self._ancestry[key] = asyncio.create_task(mirror.is_ancestor(old, new))
        return await asyncio.shield(task)

    async def checkout(self, url: str, sha: str, *, credentials: Credentials | None = None) -> Path:
        """The read-only tree of commit `sha` (a full SHA). A warm call runs no subprocess."""
        if not _FULL_SHA.match(sha):
            raise ValueError(f"checkout needs a full lowercase commit SHA, got {sha!r}")
        mirror = self.mirror(url, credentials)
        key = (mirror_key(url), sha)
        found = self._trees.get(key)
        if found is not None:
            return found
        dest = self.root / "trees" / key[0] / sha
        if dest.is_dir():
            self._trees[key] = dest
            return dest
        task = self._checkouts.get(key)
        if task is None:
            task = self._checkouts[key] = asyncio.create_task(self._materialise(mirror, sha, dest))
            task.add_done_callback(lambda _: self._checkouts.pop(key, None))
        path = await asyncio.shield(task)
        self._trees[key] = path
        return path

    async def _materialise(self, mirror: Mirror, sha: str, dest: Path) -> Path:
        if await mirror.commit(sha) is None:
            raise RevisionNotFound(f"commit {sha} is not in the mirror of {mirror.url}", url=mirror.url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{sha}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        index = dest.with_name(f"{tmp.name}.index")
        tmp.mkdir()
        try:
            async with mirror.lock:
                with mirror.environment() as env:
                    # A private index: the mirror stays untouched, and read-tree -u fetches
                    # every missing blob of the commit in one batch (checkout in a partial clone).
                    env["GIT_INDEX_FILE"] = str(index)
                    await self.runner.run(
                        [
                            "--git-dir",
                            str(mirror.folder),
                            "--work-tree",
                            str(tmp),
                            "read-tree",
                            "-u",
                            "--reset",
                            "--end-of-options",
                            sha,
                        ],
                        env=env,
                        url=mirror.url,
                        credentials=mirror.credentials,
                        revision=sha,
                    )
            make_read_only(tmp)
            try:
                tmp.rename(dest)
            except OSError:
                if not dest.is_dir():  # not another process winning the race: a real failure
                    raise
                remove_tree(tmp)
        except OSError as problem:
            remove_tree(tmp)
            raise GitError(f"cannot write the tree of {sha}: {problem}", url=mirror.url) from problem
        except BaseException:
            remove_tree(tmp)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                index.unlink()
        return dest


def _best_tag(refs: dict[str, str], revision: str) -> tuple[str, str] | None:
    try:
        constraint = Constraint.parse(revision)
    except ConstraintError:
        return None
    candidates: list[tuple[Version, tuple[str, str]]] = []
    for ref, sha in refs.items():
        if ref.startswith("refs/tags/"):
            version = Version.parse(ref.removeprefix("refs/tags/"))
            if version is not None:
                candidates.append((version, (sha, ref)))
    best = constraint.best(candidates)
    return best[1] if best else None
