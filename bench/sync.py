"""How fast `gitward sync` applies a large app, against `kubectl apply --server-side` of the same files.

Each round syncs SETS x (Deployment + ServiceAccount + Service + ConfigMap)
into an empty namespace with `gitward sync --local` (a fresh process, as CI
runs it: render, dry-run the whole revision, apply in waves) and applies the
same folder with `kubectl apply --server-side` into another empty namespace,
alternating which goes first. Then a no-op re-sync of gitward's namespace (a
fresh process again, so no in-memory memo helps) and, for reference, kubectl
re-applying its own. Peak memory is the gitward process's maximum RSS.

Deployments have replicas 0 by default (--replicas): thousands of pods would
load the shared control plane differently for whichever side ran first.

Usage: uv run python bench/sync.py [--sets 1000] [--rounds 3] [--replicas 0]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import workload
import yaml

from gitward.local import cluster, toolchain
from gitward.local.state import ClusterState


def manifests(folder: Path, sets: int, replicas: int) -> None:
    for i in range(sets):
        name = f"app-{i:04d}"
        docs = workload.documents(name, i, replicas)
        (folder / f"{name}.yaml").write_text(yaml.safe_dump_all(docs))


def timed_rss(command: list[str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(command, stdout=out, stderr=errors, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        errors.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command[:4])}... exited {proc.returncode}: {errors.read()[-2000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=0)
    parser.add_argument("--name", default=f"bench-sync-{secrets.token_hex(3)}", help="cluster name")
    args = parser.parse_args()
    if toolchain.missing(toolchain.CLUSTER_TOOLS):
        raise SystemExit("build the toolchain first: gitward local toolchain --build")

    state: ClusterState = cluster.up(args.name, nodes=2, build=False)
    kubeconfig = str(state.layout.kubeconfig)
    kubectl = [str(toolchain.find("kubectl")), f"--kubeconfig={kubeconfig}"]
    gitward = [sys.executable, "-m", "gitward", "sync", "--kubeconfig", kubeconfig, "--no-wait", "-o", "json"]
    # Compiled modules are cached as an installed gitward would have them, outside the source tree.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "gitward-bench-pycache")
    folder = Path(tempfile.mkdtemp(prefix="gitward-bench-sync-"))
    manifests(folder, args.sets, args.replicas)
    objects = 4 * args.sets
    ours: list[float] = []
    theirs: list[float] = []
    noop: list[float] = []
    kubectl_noop: list[float] = []
    rss: list[float] = []
    noop_writes: list[int] = []
    try:
        for round_ in range(1, args.rounds + 1):
            ns_g, ns_k = f"g{round_}-{secrets.token_hex(2)}", f"k{round_}-{secrets.token_hex(2)}"
            subprocess.run([*kubectl, "create", "namespace", ns_g], check=True, capture_output=True)
            subprocess.run([*kubectl, "create", "namespace", ns_k], check=True, capture_output=True)
            ours_cmd = [*gitward, "--local", str(folder), "--app", f"bench-{ns_g}", "--dest-namespace", ns_g]
            theirs_cmd = [*kubectl, "apply", "--server-side", "-f", str(folder), "-n", ns_k]
            # Alternate the order so neither side always meets a warmer apiserver.
            if round_ % 2:
                seconds, peak, out = timed_rss(ours_cmd)
                theirs.append(timed_rss(theirs_cmd)[0])
            else:
                theirs.append(timed_rss(theirs_cmd)[0])
                seconds, peak, out = timed_rss(ours_cmd)
            report = json.loads(out)
            if report["phase"] != "Succeeded" or len(report["resources"]) != objects:
                raise SystemExit(f"gitward sync: {report['phase']}: {report['message']}")
            ours.append(seconds)
            rss.append(peak)
            again_seconds, again_peak, again_out = timed_rss(ours_cmd)
            again = json.loads(again_out)
            noop.append(again_seconds)
            noop_writes.append(int(again["writes"]))
            rss.append(again_peak)
            kubectl_noop.append(timed_rss(theirs_cmd)[0])
            print(
                f"round {round_}: gitward {ours[-1]:.2f}s (peak RSS {peak:.0f} MiB), "
                f"kubectl {theirs[-1]:.2f}s; no-op re-sync {noop[-1]:.2f}s with {noop_writes[-1]} writes, "
                f"kubectl re-apply {kubectl_noop[-1]:.2f}s",
                flush=True,
            )
            for namespace in (ns_g, ns_k):
                subprocess.run(
                    [*kubectl, "delete", "namespace", namespace, "--wait=false"], capture_output=True
                )
    finally:
        cluster.down(args.name)

    mo, mk, mn, mkn = (statistics.median(v) for v in (ours, theirs, noop, kubectl_noop))
    print()
    print(f"{objects} objects ({args.sets} sets), {args.rounds} rounds, medians:")
    print(f"  gitward sync --local (fresh process):  {mo:.2f}s")
    print(f"  kubectl apply --server-side:           {mk:.2f}s")
    print(f"  ratio gitward / kubectl:               {mo / mk:.2f}x (target <= 1.2x)")
    print(
        f"  no-op re-sync:                         {mn:.2f}s = {100 * mn / mo:.1f}% of the first"
        " (target < 10%)"
    )
    print(f"  writes in the no-op re-syncs:          {max(noop_writes)} (target 0)")
    print(f"  kubectl re-apply of the same (ref.):   {mkn:.2f}s")
    print(f"  gitward peak RSS:                      {max(rss):.0f} MiB (target < 200 MiB)")


if __name__ == "__main__":
    main()
