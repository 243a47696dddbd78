"""Running the real `gitward app` command, as a user does, against a test cluster."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.helpers import Cluster

# Wide enough that a table never wraps a value the tests look for.
ENV = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def argv(cluster: Cluster, namespace: str, args: tuple[str, ...]) -> list[str]:
    common = ["--kubeconfig", str(cluster.kubeconfig), "--app-namespace", namespace]
    return [sys.executable, "-m", "gitward", "app", *args, *common]


def app_cli(cluster: Cluster, namespace: str, *args: str, stdin: str | None = None) -> Ran:
    proc = subprocess.run(
        argv(cluster, namespace, args), input=stdin, capture_output=True, text=True, env=ENV, timeout=300
    )
    return Ran(proc.returncode, proc.stdout, proc.stderr)


async def app_cli_async(cluster: Cluster, namespace: str, *args: str) -> Ran:
    """The same, without blocking the event loop a controller under test runs in."""
    proc = await asyncio.create_subprocess_exec(
        *argv(cluster, namespace, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=ENV,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return Ran(proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode())
