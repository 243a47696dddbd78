"""Plain typed data shared by every layer: no I/O here."""

from gitward.model.resource import ResourceKey
from gitward.model.source import (
    ApplicationSource,
    DirectorySource,
    HelmParameter,
    HelmSource,
    KustomizeReplica,
    KustomizeSource,
    SpecError,
)

__all__ = [
    "ApplicationSource",
    "DirectorySource",
    "HelmParameter",
    "HelmSource",
    "KustomizeReplica",
    "KustomizeSource",
    "ResourceKey",
    "SpecError",
]
