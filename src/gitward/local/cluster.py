"""`gitward local up|down|status`: a real Kubernetes control plane on loopback."""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gitward.local import components, kubeconfig, pki, ports, toolchain
from gitward.local.components import Layout, Ports
from gitward.local.paths import clusters_root
from gitward.local.process import Proc, exit_code, kill, spawn, stop
from gitward.local.state import ClusterState, all_states, check_name, cluster_dir, load

__all__ = [
    "COMPONENTS",
    "ClusterError",
    "ClusterState",
    "ComponentFailed",
    "api_ready",
    "down",
    "load",
    "restart",
    "start_component",
    "status",
    "stop_component",
    "up",
]

Say = Callable[[str], None]

_PORT_ATTEMPTS = 3


class ClusterError(RuntimeError):
    """A one-line, user-facing reason why a cluster could not be started."""


class ComponentFailed(ClusterError):
    def __init__(self, component: str, log: Path, why: str) -> None:
        super().__init__(f"{component} {why}; its log: {log}")
        self.component = component
        self.log = log


class PortTaken(ComponentFailed):
    """A port was free when chosen but taken before the component bound it."""


def up(
    name: str = "gitward",
    nodes: int = 2,
    port_base: int | None = None,
    build: bool = True,
    timeout: float = 120.0,
    say: Say = lambda _: None,
) -> ClusterState:
    """Start cluster `name`, or return it if it already runs.

    State left by a killed earlier run is stopped and removed first.
    """
    check_name(name)
    if not 0 <= nodes <= 100:
        raise ClusterError(f"--nodes must be between 0 and 100, not {nodes}")
    with _lock(name):
        existing = load(name)
        if existing is not None and existing.condition() == "running" and api_ready(existing.layout):
            say(f"cluster {name} is already running")
            return existing
        if existing is not None or cluster_dir(name).exists():
            say(f"cleaning up stale state of cluster {name}")
            _remove(name, existing)
        if build:
            toolchain.ensure(say, toolchain.CLUSTER_TOOLS)
        elif missing := toolchain.missing(toolchain.CLUSTER_TOOLS):
            raise ClusterError(
                "toolchain not built: "
                + ", ".join(f"{t.name} {t.version}" for t in missing)
                + "; run `gitward local toolchain --build`"
            )
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            try:
                return _start(name, nodes, port_base, timeout, say)
            except PortTaken as race:
                if attempt == _PORT_ATTEMPTS:
                    raise
                say(f"{race.component} lost its port to another process; retrying on other ports")
                _remove(name, load(name))
                port_base = None
    raise AssertionError("unreachable")


def down(name: str = "gitward") -> bool:
    """Stop the processes cluster `name` started and delete its data.

    Returns False when there was no such cluster.
    """
    check_name(name)
    with _lock(name):
        state = load(name)
        if state is None and not cluster_dir(name).exists():
            return False
        _remove(name, state)
        return True


def status() -> list[ClusterState]:
    return all_states()


def _start(name: str, nodes: int, port_base: int | None, timeout: float, say: Say) -> ClusterState:
    started = time.monotonic()
    taken = {p for s in all_states() if s.name != name for p in s.ports.as_list()}
    layout = Layout(name, cluster_dir(name), Ports.from_list(ports.allocate(Ports.count(), port_base, taken)))
    state = ClusterState(
        name=name,
        ports=layout.ports,
        nodes=nodes,
        kubernetes_version=toolchain.KUBERNETES_VERSION,
        created=time.time(),
    )
    # Saved before the first process starts, so a killed `up` leaves a record
    # that the next `up` finds and cleans.
    state.save()
    _prepare_files(layout)
    deadline = time.monotonic() + timeout

    def start(component: str) -> Proc:
        proc = _spawn(layout, component)
        state.processes.append(proc)
        state.save()
        return proc

    try:
        etcd = start("etcd")
        _wait(lambda: _etcd_healthy(layout), [etcd], deadline, "etcd")
        apiserver = start("kube-apiserver")
        _wait(lambda: api_ready(layout), [etcd, apiserver], deadline, "kube-apiserver")
        say(f"kube-apiserver ready at {layout.server} ({time.monotonic() - started:.1f}s)")
        rest = [start("kube-controller-manager"), start("kube-scheduler"), start("kwok")]
        everything = [etcd, apiserver, *rest]
        client = _Admin(layout)
        for node in components.node_names(nodes):
            _create(client, "/api/v1/nodes", components.node(node))
        _wait(
            lambda: _nodes_ready(client) >= nodes,
            everything,
            deadline,
            "kwok",
            f"did not make {nodes} nodes Ready",
        )
        # Pods cannot be created until the controller-manager has made the
        # default ServiceAccount; a cluster that cannot run a pod is not up.
        _wait(
            lambda: _exists(client, "/api/v1/namespaces/default/serviceaccounts/default"),
            everything,
            deadline,
            "kube-controller-manager",
            "did not create the default ServiceAccount",
        )
        state.phase = "running"
        state.save()
        say(f"cluster {name}: {nodes} nodes Ready in {time.monotonic() - started:.1f}s")
        return state
    except BaseException:
        stop(state.processes)
        state.phase = "failed"
        state.save()
        raise


# Each component and its command line, in the order `up` starts them.
_COMMANDS: dict[str, Callable[[Layout], list[str]]] = {
    "etcd": components.etcd,
    "kube-apiserver": components.apiserver,
    "kube-controller-manager": components.controller_manager,
    "kube-scheduler": components.scheduler,
    "kwok": components.kwok,
}
COMPONENTS = tuple(_COMMANDS)


def _spawn(layout: Layout, component: str) -> Proc:
    """Start one component; a binary that cannot be run is a ComponentFailed naming its log."""
    argv = _COMMANDS[component](layout)
    log = layout.log(component)
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    try:
        return spawn(component, argv, log, env)
    except OSError as err:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as sink:
            sink.write(f"gitward: cannot start {component}: {argv[0]}: {err.strerror}\n")
        raise ComponentFailed(component, log, f"cannot be started ({argv[0]}: {err.strerror})") from err


def stop_component(name: str, component: str, *, crash: bool = False, grace: float = 10.0) -> None:
    """Stop one component of running cluster `name`: SIGTERM (a clean shutdown), or SIGKILL (`crash`).

    Its record stays, dead, so `status` says the cluster is degraded until
    `start_component` brings it back on the same ports and data.
    """
    check_name(name)
    _check_component(component)
    with _lock(name):
        state = _running(name)
        procs = [p for p in state.processes if p.component == component]
        if crash:
            kill(procs)
        else:
            stop(procs, grace=grace)


def start_component(name: str, component: str, timeout: float = 60.0) -> None:
    """Start one stopped component of cluster `name` again; return once it serves.

    etcd is back when it reports healthy, the kube-apiserver when /readyz
    answers (which needs etcd); the others once started, as `up` does not
    probe them either. A component still running is left alone.
    """
    check_name(name)
    _check_component(component)
    with _lock(name):
        state = _running(name)
        if any(p.component == component for p in state.live()):
            return
        proc = _spawn(state.layout, component)
        state.processes = [p for p in state.processes if p.component != component] + [proc]
        state.save()
        layout = state.layout
        ready: dict[str, Callable[[], bool]] = {
            "etcd": lambda: _etcd_healthy(layout),
            "kube-apiserver": lambda: api_ready(layout),
        }
        _wait(ready.get(component, lambda: True), [proc], time.monotonic() + timeout, component)


def restart(name: str, component: str, *, crash: bool = False, timeout: float = 60.0) -> None:
    """`stop_component`, then `start_component`: a component restarted, or one that `crash`ed."""
    stop_component(name, component, crash=crash)
    start_component(name, component, timeout=timeout)


def _check_component(component: str) -> None:
    if component not in _COMMANDS:
        raise ClusterError(f"unknown component {component!r}: choose one of {', '.join(COMPONENTS)}")


def _running(name: str) -> ClusterState:
    state = load(name)
    if state is None or state.phase != "running":
        raise ClusterError(f"cluster {name} is not running; start it with `gitward local up --name {name}`")
    return state


def _prepare_files(layout: Layout) -> None:
    (layout.directory / "logs").mkdir(parents=True, exist_ok=True)
    layout.directory.chmod(0o700)
    created = pki.create(layout.pki.directory, layout.name)
    kubeconfig.write(layout.kubeconfig, layout.name, layout.server, created, pki.IDENTITIES[0])
    for who in pki.IDENTITIES[1:]:
        kubeconfig.write(layout.component_kubeconfig(who.file_stem), layout.name, layout.server, created, who)
    layout.kwok_config.write_text(components.kwok_config())


def _remove(name: str, state: ClusterState | None) -> None:
    if state is not None:
        stop(state.processes)
    shutil.rmtree(cluster_dir(name), ignore_errors=True)


def _wait(
    check: Callable[[], bool],
    watched: list[Proc],
    deadline: float,
    component: str,
    what: str = "did not become ready",
) -> None:
    """Poll `check` until it holds; fail at once if a watched process dies."""
    while True:
        for proc in watched:
            code = exit_code(proc)
            if code is not None:
                log = Path(proc.log)
                tail = _log_tail(log)
                if "address already in use" in tail:
                    raise PortTaken(proc.component, log, "could not bind its port")
                reason = _last_error(tail)
                raise ComponentFailed(
                    proc.component,
                    log,
                    f"exited during start-up (exit code {code})" + (f": {reason}" if reason else ""),
                )
        if check():
            return
        if time.monotonic() > deadline:
            log = next((Path(p.log) for p in watched if p.component == component), Path(watched[-1].log))
            raise ComponentFailed(component, log, f"{what} in time")
        time.sleep(0.1)


def _log_tail(log: Path) -> str:
    try:
        return log.read_bytes()[-8192:].decode(errors="replace")
    except OSError:
        return ""


def _last_error(tail: str, limit: int = 240) -> str:
    """The last line of a log that looks like the reason a component quit."""
    for line in reversed(tail.splitlines()):
        lowered = line.lower()
        if "err" in lowered or "fatal" in lowered or "unknown flag" in lowered:
            text = " ".join(line.split())
            return text if len(text) <= limit else text[: limit - 1] + "…"
    return ""


def _etcd_healthy(layout: Layout) -> bool:
    try:
        status, body = _call(_opener(), f"{layout.etcd_url}/health", timeout=1.0)
    except _UNREACHABLE:
        return False
    return status == 200 and '"health":"true"' in body.decode(errors="replace").replace(" ", "")


def api_ready(layout: Layout) -> bool:
    try:
        return _Admin(layout).get("/readyz", timeout=2.0)[0] == 200
    except _UNREACHABLE:
        return False


_UNREACHABLE = (OSError, http.client.HTTPException)  # URLError, timeouts and TLS errors are OSErrors


def _opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    # No proxies: one from the environment must never see loopback traffic.
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _call(
    opener: urllib.request.OpenerDirector, url: str, timeout: float, body: object = None
) -> tuple[int, bytes]:
    """The status and body of a GET (or of a JSON POST, with `body`); an HTTP error is an answer too."""
    data = None if body is None else json.dumps(body).encode()
    headers = {} if data is None else {"Content-Type": "application/json"}
    # The URLs are the local cluster's own http(s) loopback addresses, never user input.
    request = urllib.request.Request(url, data, headers, method="GET" if data is None else "POST")  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, refused.read()


class _Admin:
    """The admin identity's requests to the local apiserver, with the cluster's own certificates.

    Readiness probes and node creation are four endpoints: the standard
    library serves them, and `up` loads no HTTP client or lightkube models.
    """

    def __init__(self, layout: Layout) -> None:
        files = layout.pki
        context = ssl.create_default_context(cafile=str(files.ca_cert))
        admin = pki.IDENTITIES[0]
        context.load_cert_chain(str(files.client_cert(admin)), str(files.client_key(admin)))
        self.server = layout.server
        self._opener = _opener(context)

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        return _call(self._opener, self.server + path, timeout)

    def post(self, path: str, body: dict[str, object]) -> tuple[int, bytes]:
        return _call(self._opener, self.server + path, 5.0, body)


def _create(client: _Admin, path: str, body: dict[str, object]) -> None:
    status, answer = client.post(path, body)
    if status not in (201, 409):
        text = answer.decode(errors="replace")[:200]
        raise ClusterError(f"creating {path} failed: HTTP {status}: {text}")


def _exists(client: _Admin, path: str) -> bool:
    try:
        return client.get(path)[0] == 200
    except _UNREACHABLE:
        return False


def _nodes_ready(client: _Admin) -> int:
    try:
        items = json.loads(client.get("/api/v1/nodes")[1]).get("items", [])
    except (*_UNREACHABLE, ValueError):
        return 0
    return sum(
        1
        for node in items
        for cond in node.get("status", {}).get("conditions", [])
        if cond.get("type") == "Ready" and cond.get("status") == "True"
    )


@contextmanager
def _lock(name: str) -> Iterator[None]:
    """One `up` or `down` at a time per cluster name."""
    root = clusters_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / f".{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
