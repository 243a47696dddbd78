"""Charts pulled from Helm repositories, kept read-only by (repository URL, chart, version).

A chart version is immutable once published, so a pulled chart is reused
for as long as the cache folder lives: an exact version rendered twice is
pulled once. Layout: `<charts>/<url-key>/<chart>-<version>/<chart>/`, the
outer folder being the chart's "repository" (valueFiles must stay inside it).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from pathlib import Path

from gitward.cachedir import cache_root
from gitward.readonly import make_read_only, remove_tree
from gitward.render.problems import Problem
from gitward.render.tools import RenderError
from gitward.render.validate import Limits, read_file_documents

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_charts_dir() -> Path:
    """`<cache root>/charts`, beside the Git cache (see gitward.cachedir)."""
    return cache_root() / "charts"


def _key(url: str) -> str:
    normal = url.strip().rstrip("/")
    readable = _UNSAFE.sub("_", normal.partition("://")[2] or normal).strip("_")
    return f"{readable[-60:]}-{hashlib.sha256(normal.encode()).hexdigest()[:16]}"


def chart_folder(charts: Path, url: str, chart: str, version: str) -> tuple[Path, str] | None:
    folder = charts / _key(url) / f"{chart}-{version}" / chart
    return (folder, version) if (folder / "Chart.yaml").is_file() else None


def store_chart(charts: Path, url: str, chart: str, pulled: Path) -> tuple[Path, str]:
    """Move a chart `helm pull --untar` left in `pulled/<chart>` into the cache; returns (folder, version)."""
    source = pulled / chart
    # Read like a file from Git: size and alias expansion bounded, no key twice (a repository is a tenant's).
    problems: list[Problem] = []
    documents = read_file_documents(source / "Chart.yaml", f"{chart}/Chart.yaml", Limits(), problems)
    if documents is None:
        raise RenderError(f"chart {chart} from {url} has no readable Chart.yaml: {problems[0]}")
    metadata = next((d.value for d in documents if d.value is not None), None)
    version = str(metadata.get("version", "")) if isinstance(metadata, dict) else ""
    if not version or "/" in version:
        raise RenderError(f"chart {chart} from {url} has no version in its Chart.yaml")
    dest = charts / _key(url) / f"{chart}-{version}"
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
    return dest / chart, version
