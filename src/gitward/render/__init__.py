"""Manifests: a revision's files turned into the exact list of objects they declare, validated."""

from gitward.render.directory import DEFAULT_MAX_FILE_BYTES, Limits, render_directory
from gitward.render.documents import DEFAULT_MAX_EXPANDED_NODES
from gitward.render.problems import Problem, ValidationFailed

__all__ = [
    "DEFAULT_MAX_EXPANDED_NODES",
    "DEFAULT_MAX_FILE_BYTES",
    "Limits",
    "Problem",
    "ValidationFailed",
    "render_directory",
]
