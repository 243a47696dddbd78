"""Directory rendering of 10,000 small manifests, against `kustomize build` of the same files.

Both run side by side in each round on the same files: ours parses and
validates every file (gitward.render.render_directory); kustomize gets a
kustomization.yaml listing every file as a resource. Prints each round, the
medians, and the ratio ours / kustomize (target: at most 0.5).

Usage: uv run python bench/render.py [--files 10000] [--rounds 3]
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
from gitward.render import render_directory

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
    args = parser.parse_args()

    kustomize = toolchain.find("kustomize")
    has_kustomize = kustomize.is_file() and os.access(kustomize, os.X_OK)
    if not has_kustomize:
        print(f"kustomize not built at {kustomize}: timing gitward only (run `make toolchain`)")

    with tempfile.TemporaryDirectory(prefix="gitward-bench-render-") as folder:
        root = Path(folder)
        generate(root, args.files)
        time_ours(root, args.files)  # warm the page cache for both contenders
        ours: list[float] = []
        theirs: list[float] = []
        for round_ in range(1, args.rounds + 1):
            ours.append(time_ours(root, args.files))
            line = f"round {round_}: gitward {ours[-1]:.3f}s"
            if has_kustomize:
                theirs.append(time_kustomize(str(kustomize), root))
                line += f"  kustomize build {theirs[-1]:.3f}s"
            print(line, flush=True)

    ours_median = statistics.median(ours)
    print(f"{args.files} manifests, {args.rounds} rounds")
    print(f"median gitward render:   {ours_median:.3f}s")
    if theirs:
        theirs_median = statistics.median(theirs)
        print(f"median kustomize build:  {theirs_median:.3f}s")
        print(f"ratio gitward/kustomize: {ours_median / theirs_median:.2f}x (target <= 0.5x)")


if __name__ == "__main__":
    main()
