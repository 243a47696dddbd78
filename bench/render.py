"""Directory rendering of 10,000 small manifests, against `kustomize build` of the same files.

Both run side by side in each round on the same files: ours parses and
validates every file (gitward.render.render_directory); kustomize gets a
kustomization.yaml listing every file as a resource. Prints each round, the
medians, and the ratio ours / kustomize (target: at most 0.5).

Then, through gitward.render.Renderer (the render cache on), a cold and a warm
render of a small app of each kind (directory, Kustomize with options, Helm),
with the processes each started: a warm render must start none.

Usage: uv run python bench/render.py [--files 10000] [--rounds 3] [--app-files 200]
       (--files 0 skips the first part)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gitward.local import toolchain
from gitward.model import ApplicationSource
from gitward.render import AppContext, Renderer, RenderSettings, SourceTree, Tools, render_directory

_KINDS = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: bench\n"
    '  labels: {{app: bench, shard: "{s}"}}\ndata:\n  key: value-{i}\n  other: "{i}"\n',
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\n  namespace: bench\nspec:\n"
    "  selector: {{app: bench-{i}}}\n  ports:\n  - port: 80\n    targetPort: 8080\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  namespace: bench\nspec:\n"
    "  replicas: 1\n  selector:\n    matchLabels: {{app: web-{i}}}\n  template:\n    metadata:\n"
    "      labels: {{app: web-{i}}}\n    spec:\n      containers:\n      - name: web\n"
    "        image: nginx:1.27\n        ports:\n        - containerPort: 8080\n",
)


def generate(root: Path, count: int) -> Path:
    folder = root / "manifests"
    folder.mkdir()
    names = []
    for i in range(count):
        name = f"m-{i:05d}.yaml"
        (folder / name).write_text(_KINDS[i % len(_KINDS)].format(i=i, s=i % 7))
        names.append(f"manifests/{name}")
    (root / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        + "".join(f"- {n}\n" for n in names)
    )
    return folder


def time_ours(root: Path, expected: int) -> float:
    started = time.perf_counter()
    objects = render_directory(root, "manifests")
    elapsed = time.perf_counter() - started
    if len(objects) != expected:
        raise SystemExit(f"rendered {len(objects)} objects, expected {expected}")
    return elapsed


def time_kustomize(binary: str, root: Path) -> float:
    started = time.perf_counter()
    subprocess.run([binary, "build", str(root)], check=True, stdout=subprocess.DEVNULL, timeout=600)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--app-files", type=int, default=200, help="manifests per app, cold/warm part")
    args = parser.parse_args()
    if args.files:
        compare_with_kustomize(args.files, args.rounds)
    if args.app_files:
        cold_and_warm(args.app_files, args.rounds)


def compare_with_kustomize(files: int, rounds: int) -> None:

    kustomize = toolchain.find("kustomize")
    has_kustomize = kustomize.is_file() and os.access(kustomize, os.X_OK)
    if not has_kustomize:
        print(f"kustomize not built at {kustomize}: timing gitward only (run `make toolchain`)")

    with tempfile.TemporaryDirectory(prefix="gitward-bench-render-") as folder:
        root = Path(folder)
        generate(root, files)
        time_ours(root, files)  # warm the page cache for both contenders
        ours: list[float] = []
        theirs: list[float] = []
        for round_ in range(1, rounds + 1):
            ours.append(time_ours(root, files))
            line = f"round {round_}: gitward {ours[-1]:.3f}s"
            if has_kustomize:
                theirs.append(time_kustomize(str(kustomize), root))
                line += f"  kustomize build {theirs[-1]:.3f}s"
            print(line, flush=True)

    ours_median = statistics.median(ours)
    print(f"{files} manifests, {rounds} rounds")
    print(f"median gitward render:   {ours_median:.3f}s")
    if theirs:
        theirs_median = statistics.median(theirs)
        print(f"median kustomize build:  {theirs_median:.3f}s")
        print(f"ratio gitward/kustomize: {ours_median / theirs_median:.2f}x (target <= 0.5x)")


def _app(root: Path, kind: str, files: int) -> ApplicationSource:
    folder = root / kind
    if kind == "chart":
        (folder / "templates").mkdir(parents=True)
        (folder / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 1.0.0\n")
        (folder / "values.yaml").write_text("replicas: 2\n")
        for i in range(files):
            text = (
                _KINDS[i % len(_KINDS)]
                .format(i=i, s=i % 7)
                .replace("replicas: 1", "replicas: {{ .Values.replicas }}")
            )
            (folder / "templates" / f"m-{i:05d}.yaml").write_text(text)
        return ApplicationSource.from_dict({"repoURL": "https://git.example/bench", "path": kind})
    folder.mkdir()
    generate(folder, files)
    if kind == "kustomize":
        return ApplicationSource.from_dict(
            {
                "repoURL": "https://git.example/bench",
                "path": kind,
                "kustomize": {"namePrefix": "p-", "commonLabels": {"env": "b"}},
            }
        )
    (folder / "kustomization.yaml").unlink()
    return ApplicationSource.from_dict(
        {"repoURL": "https://git.example/bench", "path": kind, "directory": {"recurse": True}}
    )


def cold_and_warm(files: int, rounds: int) -> None:
    tools = Tools(helm=str(toolchain.find("helm")), kustomize=str(toolchain.find("kustomize")))
    app = AppContext("bench", "bench")
    print(f"\nRenderer, {files} manifests per app, {rounds} rounds (cold: empty cache; warm: same key again)")
    with tempfile.TemporaryDirectory(prefix="gitward-bench-apps-") as folder:
        root = Path(folder)
        for kind in ("directory", "kustomize", "chart"):
            source = _app(root, kind, files)
            tree = SourceTree(root, "0" * 40)
            cold: list[float] = []
            warm: list[float] = []
            started_cold = started_warm = 0
            for _ in range(rounds):
                renderer = Renderer(tools, RenderSettings())
                began = time.perf_counter()
                renderer.render(source, tree, app)
                cold.append(time.perf_counter() - began)
                started_cold = renderer.runner.total
                began = time.perf_counter()
                renderer.render(source, tree, app)
                warm.append(time.perf_counter() - began)
                started_warm = renderer.runner.total - started_cold
            print(
                f"{kind:9}  cold {statistics.median(cold) * 1000:8.1f} ms ({started_cold} processes)"
                f"  warm {statistics.median(warm) * 1000:7.2f} ms ({started_warm} processes)",
                flush=True,
            )


if __name__ == "__main__":
    main()
