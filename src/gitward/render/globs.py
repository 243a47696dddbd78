"""The include/exclude patterns of a directory source: shell globs plus `{a,b}` alternation.

`*` and `?` stay inside one path segment, `**` crosses segments, and `**/`
also matches no folder at all. A pattern without `/` also matches a file's
base name in any folder, so `*.yaml` keeps meaning "every YAML file" when
`recurse` is on. Matching is gitward.model.glob's: linear in the path, so a
tenant's pattern cannot stall a render (a regex translation could).
"""

from __future__ import annotations

from gitward.model.glob import Glob, GlobError, compile_glob

__all__ = ["GlobError", "check", "matches"]


def _compiled(pattern: str) -> Glob:
    return compile_glob(pattern.removeprefix("./"), separator="/", zero_dirs=True)


def check(pattern: str) -> None:
    """Raise GlobError if `pattern` is not a usable include/exclude pattern."""
    _compiled(pattern)


def matches(pattern: str, relative_path: str) -> bool:
    """True if the posix relative path (or, for a pattern without '/', its base name) matches."""
    compiled = _compiled(pattern)
    if compiled.match(relative_path):
        return True
    return "/" not in pattern and compiled.match(relative_path.rsplit("/", 1)[-1])
