"""Charts pulled from Helm repositories, kept read-only by (repository URL, chart, version).

A chart version is immutable once published, so a pulled chart is reused
for as long as the cache folder lives: an exact version rendered twice is
pulled once. Layout: `<charts>/<url-key>/<chart>-<version>/<chart>/`, the
outer folder being the chart's "repository" (valueFiles must stay inside it).

The chart name and version come from a tenant (the spec, the pulled
Chart.yaml), so neither may be more than one plain path component, and every
folder is checked after resolving symlinks to stay under its repository's
own key: a chart name such as `../../git/trees/<repo>/<sha>/link` once led
through symlinks in the attacker's repository to another team's cached chart.
A pulled chart holding a symlink that leaves it is refused too.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

from gitward.cachedir import cache_root
from gitward.model import names
from gitward.readonly import make_read_only, remove_tree
from gitward.render.problems import Problem
from gitward.render.tools import RenderError
from gitward.render.trees import escaping_links, inside
from gitward.render.validate import Limits, read_file_documents

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_charts_dir() -> Path:
    """`<cache root>/charts`, beside the Git cache (see gitward.cachedir)."""
    return cache_root() / "charts"


def _key(url: str) -> str:
    normal = url.strip().rstrip("/")
    readable = _UNSAFE.sub("_", normal.partition("://")[2] or normal).strip("_")
    return f"{readable[-60:]}-{hashlib.sha256(normal.encode()).hexdigest()[:16]}"


def _release_folder(charts: Path, url: str, chart: str, version: str) -> Path:
    """`<charts>/<url-key>/<chart>-<version>`, once both parts are checked to be plain names."""
    for what, why in (
        ("chart name", names.chart_name(chart, path=False)),
        ("chart version", names.chart_version(version)),
    ):
        if why is not None:
            raise RenderError(f"chart {chart!r} {version!r} from {url}: the {what} {why}")
    return charts / _key(url) / f"{chart}-{version}"


def confined(path: Path, top: Path, url: str) -> Path:
    """`path` with symlinks resolved, when that stays under `top`; else RenderError.

    Only `top`'s parent is resolved: `top` itself (a repository's key, a release folder) must be a
    real folder there, not a link to another repository's."""
    resolved = path.resolve()
    if not inside(resolved, top.parent.resolve() / top.name):
        raise RenderError(f"a chart of {url} resolves outside its folder of the chart cache; refused")
    return resolved


def chart_folder(charts: Path, url: str, chart: str, version: str) -> tuple[Path, str] | None:
    """The cached chart folder (resolved, confined to the repository's key), or None if not cached."""
    release = _release_folder(charts, url, chart, version)
    folder = release / chart
    if not (folder / "Chart.yaml").is_file():
        return None
    confined(release, release.parent, url)
    return confined(folder, release, url), version


def store_chart(charts: Path, url: str, chart: str, pulled: Path) -> tuple[Path, str]:
    """Move a chart `helm pull --untar` left in `pulled/<chart>` into the cache; returns (folder, version)."""
    _release_folder(charts, url, chart, "0")  # the chart's name, checked before it names a path
    source = confined(pulled / chart, pulled, url)
    links = escaping_links(source, source)
    if links:
        raise RenderError(f"chart {chart} from {url}: {links[0].file}: {links[0].message}")
    # Read like a file from Git: size and alias expansion bounded, no key twice (a repository is a tenant's).
    problems: list[Problem] = []
    documents = read_file_documents(source / "Chart.yaml", f"{chart}/Chart.yaml", Limits(), problems)
    if documents is None:
        raise RenderError(f"chart {chart} from {url} has no readable Chart.yaml: {problems[0]}")
    metadata = next((d.value for d in documents if d.value is not None), None)
    version = str(metadata.get("version", "")) if isinstance(metadata, dict) else ""
    if not version:
        raise RenderError(f"chart {chart} from {url} has no version in its Chart.yaml")
    dest = _release_folder(charts, url, chart, version)
    if not (dest / chart / "Chart.yaml").is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        tmp.mkdir()
        shutil.move(str(source), str(tmp / chart))
        make_read_only(tmp)
        try:
            tmp.rename(dest)
        except OSError:
            if not dest.is_dir():  # not another process winning the race
                raise
            remove_tree(tmp)
    confined(dest, dest.parent, url)
    return confined(dest / chart, dest, url), version
