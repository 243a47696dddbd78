"""Plain typed data shared by every layer: no I/O here."""

from gitward.model.fields import SpecError
from gitward.model.resource import ResourceKey
from gitward.model.source import (
    ApplicationSource,
    DirectorySource,
    HelmParameter,
    HelmSource,
    KustomizeReplica,
    KustomizeSource,
    SourceType,
    sources_from_spec,
)

__all__ = [
    "ApplicationSource",
    "DirectorySource",
    "HelmParameter",
    "HelmSource",
    "KustomizeReplica",
    "KustomizeSource",
    "ResourceKey",
    "SourceType",
    "SpecError",
    "sources_from_spec",
]
