"""Finding 12: "no network" for helm and kustomize was only proxy variables.

Go's HTTP client never sends loopback addresses through a proxy, so a render
pointed at the closed proxy port could still reach any service on 127.0.0.1.
Renders without network permission now start in a network namespace with no
route (gitward.render.netns); the proxy variables stay as a second layer.

A loopback HTTP server started by each test counts the requests it gets:
- a process started the way renders start tools (ToolRunner, isolated, with
  the sandbox's environment) cannot connect to it, while the same process
  started without isolation can (so the server was reachable and the refusal
  is the namespace's doing, not the proxy's);
- `kustomize build` of a kustomization naming a remote resource on that
  server, with our own remote-reference check switched off, gets nothing: the
  request never arrives; with the namespace unavailable it does arrive, which
  is the reported hole;
- where the kernel allows no namespace, renders still run, and say so once.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from gitward.controller.run import Controller
from gitward.render import Limits, ToolRunner, Tools, ValidationFailed, netns
from gitward.render.job import Job
from gitward.render.kustomize import render_kustomize
from gitward.render.tools import sandbox_env
from tests.e2e.support import app_status, condition, live, until
from tests.helpers import Cluster
from tests.render.conftest import helm_bin, kustomize_bin, tools  # noqa: F401
from tests.security.conftest import Bystander
from tests.security.tenant import synced_tenant
from tests.source.servers import Upstream

RESOURCE = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fetched\n"


class Loopback:
    """A loopback HTTP server that answers every GET with a ConfigMap and counts the requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen.append(self.path)
                body = RESOURCE.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    served = Loopback()
    served.thread.start()
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


@pytest.fixture
def isolation() -> tuple[str, ...]:
    prefix = netns.isolation()
    if prefix is None:
        pytest.skip("this kernel allows no network namespace here (the fallback is tested below)")
    return prefix


def _fetch_script(url: str) -> str:
    # A raw socket, not urllib: the proxy variables must not be what stops it (Go ignores them for loopback).
    host, port = url.removeprefix("http://").split(":")
    return (
        "import socket,sys\n"
        "try:\n"
        f"    s = socket.create_connection(({host!r}, {port}), timeout=5)\n"
        "    s.sendall(b'GET /from-the-tool HTTP/1.0\\r\\n\\r\\n'); print(s.recv(100).decode())\n"
        "except OSError as e:\n"
        "    print('refused:', e); sys.exit(3)\n"
    )


def _run(tmp_path: Path, argv: list[str], *, isolate: bool) -> tuple[int, str]:
    scratch = tmp_path / ("isolated" if isolate else "open")
    scratch.mkdir()
    completed = ToolRunner().run(
        argv,
        tool="probe",
        cwd=scratch,
        env=sandbox_env(scratch, network=False),
        deadline=time.monotonic() + 30,
        max_output=1 << 20,
        isolate=isolate,
    )
    return completed.returncode, completed.stdout.decode()


def test_a_tool_run_without_network_cannot_reach_a_loopback_service(
    tmp_path: Path, loopback: Loopback, isolation: tuple[str, ...]
) -> None:
    argv = [sys.executable, "-c", _fetch_script(loopback.url)]
    # The control: the same process, same environment (proxies pointed at a closed port), no namespace.
    code, out = _run(tmp_path, argv, isolate=False)
    assert code == 0 and "200" in out, out
    assert loopback.requests == ["/from-the-tool"]
    # Isolated, as helm and kustomize are started: no route to anything, not even loopback.
    code, out = _run(tmp_path, argv, isolate=True)
    assert code == 3 and "refused" in out, out
    assert loopback.requests == ["/from-the-tool"]


def _kustomize_job(tools: Tools, tmp_path: Path) -> Job:  # noqa: F811
    scratch = tmp_path / f"scratch-{time.monotonic_ns()}"
    scratch.mkdir()
    return Job(
        runner=ToolRunner(),
        tools=tools,
        scratch=scratch,
        timeout=60,
        network=False,
        limits=Limits(),
        max_output=1 << 20,
    )


def _remote_kustomization(tmp_path: Path, url: str) -> Path:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "kustomization.yaml").write_text(f"resources:\n- {url}/remote.yaml\n")
    return root


def test_kustomize_with_its_remote_checks_bypassed_still_reaches_nothing(
    tools: Tools,  # noqa: F811
    tmp_path: Path,
    loopback: Loopback,
    isolation: tuple[str, ...],
) -> None:
    root = _remote_kustomization(tmp_path, loopback.url)
    # allow_remote=True switches our own check off; the render itself still has no network.
    with pytest.raises(ValidationFailed) as failure:
        render_kustomize(_kustomize_job(tools, tmp_path), root, root / "app", None, allow_remote=True)
    assert "kustomize build failed" in str(failure.value.problems[0])
    assert loopback.requests == []


def test_without_a_namespace_the_proxy_variables_alone_let_kustomize_reach_loopback(
    tools: Tools,  # noqa: F811
    tmp_path: Path,
    loopback: Loopback,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The reported hole, reproduced: why the namespace is needed (and what the fallback still allows)."""
    monkeypatch.setattr(netns, "isolation", lambda: None)
    root = _remote_kustomization(tmp_path, loopback.url)
    placed = render_kustomize(_kustomize_job(tools, tmp_path), root, root / "app", None, allow_remote=True)
    assert [p.obj["metadata"]["name"] for p in placed] == ["fetched"]
    assert loopback.requests == ["/remote.yaml"]


def test_where_no_namespace_can_be_made_tools_still_run_and_a_warning_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netns.forget()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "unshare" else sys.executable)
    try:
        with capture_logs() as logs:
            assert netns.isolation() is None
            assert netns.isolation() is None
            code, out = _run(tmp_path, [sys.executable, "-c", "print('ran')"], isolate=True)
    finally:
        netns.forget()
    assert code == 0 and out.strip() == "ran"
    warnings = [entry for entry in logs if entry["event"] == "render.network_namespace_unavailable"]
    assert len(warnings) == 1, logs
    assert "unshare" in warnings[0]["reason"]


# End to end --------------------------------------------------------------------------------------


@pytest.mark.cluster
async def test_a_tenants_kustomization_naming_a_loopback_service_reaches_nothing_and_applies_nothing(
    cluster: Cluster,
    namespace: str,
    controller: Controller,
    repo: tuple[str, Upstream],
    bystander: Bystander,
    loopback: Loopback,
) -> None:
    """The attack as a tenant makes it: a commit whose kustomization pulls from a service on 127.0.0.1."""
    tenant = await synced_tenant(cluster, namespace, repo)
    tenant.upstream.commit(
        {"deploy/kustomization.yaml": f"resources:\n- config.yaml\n- {loopback.url}/internal/secrets.yaml\n"}
    )

    def refused() -> dict[str, object] | None:
        found = condition(app_status(cluster, namespace, tenant.name), "ComparisonError")
        return found if found and "kustomization.yaml" in str(found.get("message")) else None

    found = await until(refused, what="a ComparisonError naming the kustomization")
    assert loopback.url.removeprefix("http://") in str(found["message"])
    await bystander.heals()

    assert loopback.requests == [], "a render reached a loopback service"
    assert app_status(cluster, namespace, tenant.name)["sync"]["revision"] == tenant.good
    assert live(cluster, "configmap", "fetched", tenant.target) is None
