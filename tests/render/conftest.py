"""Fixtures for the renderer tests: the real helm and kustomize, read-only trees, a Helm repository server.

A missing toolchain fails these tests loudly (as the cluster tests do); nothing is skipped.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitward.local import toolchain
from gitward.readonly import make_read_only
from gitward.render import Renderer, RenderSettings, Tools

# A Deployment whose selector and pod labels the label options can be checked against.
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
"""


def _binary(command: str) -> str:
    path = toolchain.find(command)
    if not path.is_file():
        pytest.fail(
            f"{command} is not built ({path}); run `make toolchain` or `gitward local toolchain --build`",
            pytrace=False,
        )
    return str(path)


@pytest.fixture(scope="session")
def helm_bin() -> str:
    return _binary("helm")


@pytest.fixture(scope="session")
def kustomize_bin() -> str:
    return _binary("kustomize")


@pytest.fixture
def tools(helm_bin: str, kustomize_bin: str) -> Tools:
    return Tools(helm=helm_bin, kustomize=kustomize_bin)


@pytest.fixture
def settings(tmp_path: Path) -> RenderSettings:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return RenderSettings(scratch_dir=scratch, charts_dir=tmp_path / "charts")


@pytest.fixture
def renderer(tools: Tools, settings: RenderSettings) -> Renderer:
    return Renderer(tools, settings)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def read_only(root: Path) -> Path:
    """Make a tree read-only, as the repository cache leaves it."""
    make_read_only(root)
    return root


def fingerprint(root: Path) -> str:
    """Every path, link target and file content under root: equal before and after means untouched."""
    digest = hashlib.sha256()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder) / name
            digest.update(str(path.relative_to(root)).encode())
            if path.is_symlink():
                digest.update(str(path.readlink()).encode())
            elif path.is_file():
                digest.update(path.read_bytes())
                digest.update(str(path.stat().st_nlink).encode())
    return digest.hexdigest()


def cm(name: str, namespace: str = "", data: str = "") -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\n{data}"


def names(objects: list[dict[str, object]]) -> list[str]:
    return [o["metadata"]["name"] for o in objects]  # type: ignore[index]


def by_name(objects: list[dict[str, object]], name: str) -> dict[str, object]:
    return next(o for o in objects if o["metadata"]["name"] == name)  # type: ignore[index]


def logging_wrapper(folder: Path, real: str, name: str) -> tuple[str, Path]:
    """A binary that appends its arguments and environment to a log, then runs the real one."""
    log = folder / f"{name}.log"
    wrapper = folder / name
    wrapper.write_text(
        f'#!/bin/sh\n{{ printf "ARGS %s\\n" "$*"; env | sed "s/^/ENV /"; }} >> {log}\nexec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    return str(wrapper), log


def launches(log: Path) -> list[str]:
    if not log.exists():
        return []
    return [line[5:] for line in log.read_text().splitlines() if line.startswith("ARGS ")]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A plain HTTP server on 127.0.0.1 serving a folder: (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def make_chart(folder: Path, name: str, version: str, templates: dict[str, str], extra: str = "") -> Path:
    chart = folder / name
    write(
        chart,
        {
            "Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n{extra}",
            **{f"templates/{k}": v for k, v in templates.items()},
        },
    )
    return chart


@pytest.fixture
def helm_repo(http_folder: tuple[Path, str], helm_bin: str, tmp_path: Path) -> tuple[str, Path]:
    """A Helm repository over HTTP with chart `hello` 0.1.0 and 0.2.0, packaged and indexed by real helm."""
    served, url = http_folder
    sources = tmp_path / "chart-sources"
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp_path / "hc"),
        "HELM_CONFIG_HOME": str(tmp_path / "hcfg"),
        "HELM_DATA_HOME": str(tmp_path / "hd"),
    }
    for version in ("0.1.0", "0.2.0"):
        chart = make_chart(
            sources / version,
            "hello",
            version,
            {
                "cm.yaml": cm(
                    "{{ .Release.Name }}-hello",
                    data="data:\n  version: {{ .Chart.Version | quote }}\n"
                    "  greeting: {{ .Values.greeting | quote }}\n",
                )
            },
        )
        write(chart, {"values.yaml": "greeting: hi\n", "values-loud.yaml": "greeting: HI\n"})
        subprocess.run(
            [helm_bin, "package", str(chart), "-d", str(served)], check=True, env=env, capture_output=True
        )
    subprocess.run(
        [helm_bin, "repo", "index", str(served), "--url", url], check=True, env=env, capture_output=True
    )
    return url, served
