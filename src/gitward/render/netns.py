"""Renders without a network: helm and kustomize started in a network namespace that has no route.

Pointing the proxy variables at a closed port (tools.sandbox_env) is not
enough on its own: Go's HTTP client never uses a proxy for loopback
addresses, so a template or kustomization could still reach a service on
127.0.0.1 (a metrics port, a kubelet, a cloud metadata proxy). util-linux's
`unshare --net` starts the tool in a fresh network namespace holding only a
loopback interface that is down: every connection fails at once.

As root `unshare --net` is enough; otherwise an unprivileged user namespace
(`--user --map-root-user`) grants the right to make one, where the kernel
allows that. Which of the two works is probed once per process. Where
neither does (no util-linux, a seccomp profile or sysctl forbidding new
namespaces), renders run with the proxy variables only, and a warning says
so once.

unshare execs the tool in place (no --fork), so the process started is the
tool itself: its process group, timeout and exit status work as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Sequence

import structlog

log = structlog.get_logger(__name__)

# The ways to get a network namespace, most direct first.
_VARIANTS: tuple[tuple[str, ...], ...] = (("--net",), ("--user", "--map-root-user", "--net"))
_PROBE_TIMEOUT = 10.0
# Renders start in worker threads: the first ones must not probe (and warn) side by side.
_probing = threading.Lock()
_probed = False
_found: tuple[str, ...] | None = None


def isolation() -> tuple[str, ...] | None:
    """The argv prefix that runs a command without network, or None where this kernel allows none."""
    global _probed, _found
    with _probing:
        if not _probed:
            _found, _probed = _probe(), True
        return _found


def forget() -> None:
    """Probe again at the next render (for tests that change what the probe sees)."""
    global _probed
    with _probing:
        _probed = False


def _probe() -> tuple[str, ...] | None:
    unshare = shutil.which("unshare")
    true = shutil.which("true")
    if unshare is None or true is None:
        _unavailable("util-linux's unshare is not installed")
        return None
    reasons: list[str] = []
    for flags in _VARIANTS:
        prefix = (unshare, *flags, "--")
        try:
            probe = subprocess.run(
                [*prefix, true],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_PROBE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as problem:
            reasons.append(f"{' '.join(flags)}: {problem}")
            continue
        if probe.returncode == 0:
            return prefix
        reasons.append(f"{' '.join(flags)}: {probe.stderr.decode(errors='replace').strip()}")
    _unavailable("; ".join(reasons))
    return None


def _unavailable(reason: str) -> None:
    log.warning(
        "render.network_namespace_unavailable",
        reason=reason,
        consequence="helm and kustomize renders are kept off the network by proxy variables only; "
        "a render can reach services on loopback addresses",
    )


def without_network(argv: Sequence[str]) -> list[str]:
    """`argv` run in a network namespace without a route, where possible; else `argv` unchanged."""
    prefix = isolation()
    return [*prefix, *argv] if prefix else list(argv)


def runnable(path: str) -> bool:
    """Whether `path` can be executed: unshare reports a missing tool only through its exit status."""
    found = shutil.which(path)
    return found is not None and os.access(found, os.X_OK)
