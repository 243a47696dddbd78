"""Git: revisions resolved to commits, through one shared blobless mirror per repository."""

from gitward.source.cache import RepoCache, Resolution, default_root
from gitward.source.credentials import Credentials, redact_url
from gitward.source.errors import (
    AuthenticationError,
    GitError,
    HostKeyError,
    RepositoryNotFound,
    RepositoryUnreachable,
    RepositoryURLRefused,
    RevisionNotFound,
    SourceError,
)
from gitward.source.semver import Constraint, ConstraintError, Version

__all__ = [
    "AuthenticationError",
    "Constraint",
    "ConstraintError",
    "Credentials",
    "GitError",
    "HostKeyError",
    "RepoCache",
    "RepositoryNotFound",
    "RepositoryURLRefused",
    "RepositoryUnreachable",
    "Resolution",
    "RevisionNotFound",
    "SourceError",
    "Version",
    "default_root",
    "redact_url",
]
