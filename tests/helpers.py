"""What tests use to look at a local cluster: kubectl, raw HTTP, and polling."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from gitward.local import pki, toolchain
from gitward.local.state import ClusterState

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    """A running local cluster, as a test sees it."""

    state: ClusterState

    @property
    def name(self) -> str:
        return self.state.name

    @property
    def kubeconfig(self) -> Path:
        return self.state.layout.kubeconfig

    @property
    def server(self) -> str:
        return self.state.layout.server

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """Run the toolchain's own kubectl against this cluster."""
        proc = subprocess.run(
            [str(toolchain.find("kubectl")), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))

    def http(self, token: str | None = None) -> httpx.Client:
        """A client for raw API requests: as the admin, or as the bearer of `token`.

        With a token, no client certificate is sent: the apiserver would
        otherwise authenticate the certificate and ignore the token.
        """
        files = self.state.layout.pki
        context = ssl.create_default_context(cafile=str(files.ca_cert))
        if token is not None:
            return httpx.Client(
                base_url=self.server,
                verify=context,
                timeout=10.0,
                trust_env=False,
                headers={"Authorization": f"Bearer {token}"},
            )
        admin = pki.IDENTITIES[0]
        context.load_cert_chain(str(files.client_cert(admin)), str(files.client_key(admin)))
        return httpx.Client(base_url=self.server, verify=context, timeout=10.0, trust_env=False)


def eventually(check: Callable[[], T | None], timeout: float = 60.0, what: str = "condition") -> T:
    """Poll until `check` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
