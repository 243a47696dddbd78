"""The include/exclude patterns of a directory source: shell globs plus `{a,b}` alternation.

`*` and `?` stay inside one path segment, `**` crosses segments. A pattern
without `/` also matches a file's base name in any folder, so `*.yaml` keeps
meaning "every YAML file" when `recurse` is on.
"""

from __future__ import annotations

import re
from functools import lru_cache


class GlobError(ValueError):
    pass


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> re.Pattern[str]:
    regex, rest = _translate(pattern, 0, top=True)
    if rest != len(pattern):
        raise GlobError(f"unbalanced '}}' in pattern {pattern!r}")
    return re.compile(f"(?s:{regex})\\Z")


def _translate(pattern: str, i: int, top: bool) -> tuple[str, int]:
    """Translate from i until the end (top) or until the `,`/`}` that closes the current brace group."""
    out: list[str] = []
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # `**/` also matches no folder at all
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 2 if pattern.startswith(("[!", "[^"), i) else i + 1)
            if end < 0:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : end]
                if body.startswith(("!", "^")):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end
        elif ch == "{":
            options: list[str] = []
            i += 1
            while True:
                part, i = _translate(pattern, i, top=False)
                options.append(part)
                if i >= len(pattern):
                    raise GlobError(f"unclosed '{{' in pattern {pattern!r}")
                if pattern[i] == "}":
                    break
                i += 1  # past ","
            out.append("(?:" + "|".join(options) + ")")
        elif not top and ch in ",}":
            return "".join(out), i
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out), i


def matches(pattern: str, relative_path: str) -> bool:
    """True if the posix relative path (or, for a pattern without '/', its base name) matches."""
    compiled = compile_glob(pattern.removeprefix("./"))
    if compiled.match(relative_path):
        return True
    return "/" not in pattern and bool(compiled.match(relative_path.rsplit("/", 1)[-1]))
