"""What can go wrong with a repository, typed so the controller can turn each into a condition.

Every error carries `last_sha`: the commit this revision last resolved to in
this process, if any, so that a failed refresh degrades to "still serving the
previous commit" plus a reported condition rather than to nothing.
"""

from __future__ import annotations


class SourceError(Exception):
    """A repository operation failed. `reason` is a stable CamelCase word for conditions."""

    reason = "SourceError"

    def __init__(self, message: str, *, url: str, revision: str = "", last_sha: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.revision = revision
        self.last_sha = last_sha

    def __str__(self) -> str:
        if self.last_sha:
            return f"{self.message} (still using {self.last_sha[:12]})"
        return self.message


class AuthenticationError(SourceError):
    """The server refused the credentials, or asked for some and none were given."""

    reason = "AuthenticationFailed"


class HostKeyError(AuthenticationError):
    """The ssh server's host key is not among (or differs from) the known hosts given for it."""

    reason = "HostKeyVerificationFailed"


class RepositoryNotFound(SourceError):
    reason = "RepositoryNotFound"


class RepositoryUnreachable(SourceError):
    """Network, DNS, TLS or server trouble: worth retrying later."""

    reason = "RepositoryUnreachable"


class RevisionNotFound(SourceError):
    """No branch, tag, commit or matching version tag by that name (e.g. the branch was deleted)."""

    reason = "RevisionNotFound"


class RepositoryURLRefused(SourceError):
    """A repository URL gitward will not fetch (see gitward.model.repo_url): refused before git runs."""

    reason = "RepositoryURLRefused"


class GitError(SourceError):
    """git failed in a way none of the above explains; the message carries its (scrubbed) output."""

    reason = "GitError"
