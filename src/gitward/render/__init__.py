"""Manifests: a revision's files turned into the exact list of objects they declare, validated.

`Renderer` is the entry point: it chooses directory, Kustomize or Helm as Argo
CD does, runs the binaries isolated and with a timeout, validates their
output like files, and caches by (repository, commit, path, source spec).
"""

from gitward.render.cache import RenderCache, RenderKey
from gitward.render.directory import DEFAULT_MAX_FILE_BYTES, Limits, render_directory
from gitward.render.documents import DEFAULT_MAX_EXPANDED_NODES
from gitward.render.kustomize import KUSTOMIZATION_FILES
from gitward.render.problems import Problem, ValidationFailed
from gitward.render.pull import ChartAccess
from gitward.render.renderer import AppContext, Renderer, RenderSettings, SourceTree
from gitward.render.tools import RenderError, RendererUnavailable, ToolRunner, Tools

__all__ = [
    "DEFAULT_MAX_EXPANDED_NODES",
    "DEFAULT_MAX_FILE_BYTES",
    "KUSTOMIZATION_FILES",
    "AppContext",
    "ChartAccess",
    "Limits",
    "Problem",
    "RenderCache",
    "RenderError",
    "RenderKey",
    "RenderSettings",
    "Renderer",
    "RendererUnavailable",
    "SourceTree",
    "ToolRunner",
    "Tools",
    "ValidationFailed",
    "render_directory",
]
