"""How fast a warm `gitward local up` is, and how much memory the control plane holds.

Baseline, run side by side in the same rounds: the bare minimum any local
cluster pays, etcd plus kube-apiserver to /readyz, started from the same
binaries (what envtest does). The ratio is the price of a *usable* cluster:
controllers, scheduler, kwok, nodes Ready and the default ServiceAccount.

Usage: uv run python bench/local_up.py [--rounds 5] [--pods 100]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from gitward.local import cluster, components, pki, ports, toolchain
from gitward.local.components import Layout, Ports
from gitward.local.process import Proc, spawn, stop
from gitward.local.state import ClusterState


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def full_up(name: str) -> float:
    started = time.perf_counter()
    cluster.up(name, nodes=2, build=False)
    return time.perf_counter() - started


def bare_apiserver() -> float:
    """etcd + kube-apiserver to /readyz, nothing else."""
    directory = Path(tempfile.mkdtemp(prefix="gitward-bench-"))
    layout = Layout("bench", directory, Ports.from_list(ports.allocate(Ports.count())))
    pki.create(layout.pki.directory, "bench")
    env = dict(os.environ)
    procs: list[Proc] = []
    started = time.perf_counter()
    try:
        procs.append(spawn("etcd", components.etcd(layout), layout.log("etcd"), env))
        procs.append(spawn("kube-apiserver", components.apiserver(layout), layout.log("apiserver"), env))
        deadline = time.monotonic() + 120
        while not cluster.api_ready(layout):
            if time.monotonic() > deadline:
                raise RuntimeError(f"apiserver not ready; see {layout.log('apiserver')}")
            time.sleep(0.1)
        return time.perf_counter() - started
    finally:
        stop(procs)
        shutil.rmtree(directory, ignore_errors=True)


def load_pods(state: ClusterState, pods: int) -> None:
    kubectl = [str(toolchain.find("kubectl")), f"--kubeconfig={state.layout.kubeconfig}"]
    subprocess.run(
        [*kubectl, "create", "deployment", "load", "--image=registry.example/x:1", f"--replicas={pods}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*kubectl, "wait", "deployment/load", "--for=condition=Available", "--timeout=300s"],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pods", type=int, default=100)
    args = parser.parse_args()
    if toolchain.missing():
        raise SystemExit("build the toolchain first: gitward local toolchain --build")

    ours: list[float] = []
    bare: list[float] = []
    name = f"bench-{secrets.token_hex(3)}"
    for round_ in range(1, args.rounds + 1):
        # Alternate the order so neither side always runs on a warmer page cache.
        if round_ % 2:
            bare.append(bare_apiserver())
            ours.append(full_up(name))
        else:
            ours.append(full_up(name))
            bare.append(bare_apiserver())
        if round_ < args.rounds:
            cluster.down(name)
        print(f"round {round_}: gitward local up {ours[-1]:.2f}s, bare apiserver {bare[-1]:.2f}s", flush=True)

    state = cluster.load(name)
    if state is None:
        raise SystemExit(f"cluster {name} vanished during the benchmark")
    time.sleep(10)  # let informers settle before reading memory
    idle = {p.component: rss_mib(p.pid) for p in state.processes}
    load_pods(state, args.pods)
    time.sleep(10)
    loaded = {p.component: rss_mib(p.pid) for p in state.processes}
    cluster.down(name)

    mo, mb = statistics.median(ours), statistics.median(bare)
    print()
    print(
        f"warm `gitward local up` to 2 nodes Ready: median {mo:.2f}s over {args.rounds} rounds"
        " (target < 15 s)"
    )
    print(f"bare etcd + kube-apiserver to /readyz:    median {mb:.2f}s")
    print(f"ratio (usable cluster / bare apiserver):  {mo / mb:.2f}x")
    for label, sample in (("idle", idle), (f"with {args.pods} pods", loaded)):
        parts = ", ".join(f"{k} {v:.0f}" for k, v in sample.items())
        print(f"control-plane RSS {label}: {sum(sample.values()):.0f} MiB ({parts}) (target < 1536 MiB)")


if __name__ == "__main__":
    main()
