"""The command lines of a local cluster's components: pure functions of its layout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitward.local import toolchain
from gitward.local.pki import Pki

# The Service range and the pod range kwok hands out must not overlap.
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def from_list(cls, ports: list[int]) -> Ports:
        return cls(*ports)

    def as_list(self) -> list[int]:
        return [
            self.etcd_client,
            self.etcd_peer,
            self.apiserver,
            self.controller_manager,
            self.scheduler,
            self.kwok,
        ]

    @staticmethod
    def count() -> int:
        return 6


@dataclass(frozen=True)
class Layout:
    """Where one cluster keeps its files, and the ports it listens on."""

    name: str
    directory: Path
    ports: Ports

    @property
    def pki(self) -> Pki:
        return Pki(self.directory / "pki")

    @property
    def etcd_data(self) -> Path:
        return self.directory / "etcd"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def component_kubeconfig(self, stem: str) -> Path:
        return self.directory / f"{stem}.kubeconfig"

    @property
    def kwok_config(self) -> Path:
        return self.directory / "kwok.yaml"

    def log(self, component: str) -> Path:
        return self.directory / "logs" / f"{component}.log"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.etcd_client}"


def etcd(layout: Layout) -> list[str]:
    peer = f"http://127.0.0.1:{layout.ports.etcd_peer}"
    member = f"gitward-{layout.name}"
    return [
        str(toolchain.find("etcd")),
        f"--name={member}",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={layout.etcd_url}",
        f"--advertise-client-urls={layout.etcd_url}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster={member}={peer}",
        "--initial-cluster-state=new",
        # A local cluster is thrown away with `down`: durability buys nothing
        # here and fsync dominates apply latency on a busy disk.
        "--unsafe-no-fsync=true",
        "--quota-backend-bytes=4294967296",
        "--log-level=warn",
    ]


def apiserver(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        str(toolchain.find("kube-apiserver")),
        f"--etcd-servers={layout.etcd_url}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        # The endpoint reconciler refuses a loopback address, and nothing runs
        # in pods here that could use the `kubernetes` Service's endpoints.
        "--endpoint-reconciler-type=none",
        f"--secure-port={layout.ports.apiserver}",
        f"--cert-dir={layout.directory / 'apiserver-certs'}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        "--authorization-mode=RBAC",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        f"--service-account-issuer={SA_ISSUER}",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
    ]


def _control_loop(layout: Layout, command: str, stem: str, port: int) -> list[str]:
    """Flags the controller-manager and scheduler share: identity, serving, no election."""
    kubeconfig = layout.component_kubeconfig(stem)
    return [
        str(toolchain.find(command)),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={layout.directory / (stem + '-certs')}",
        # One replica per cluster: an election only delays start-up.
        "--leader-elect=false",
        "--profiling=false",
        "--v=1",
    ]


def controller_manager(layout: Layout) -> list[str]:
    pki = layout.pki
    return [
        *_control_loop(
            layout, "kube-controller-manager", "controller-manager", layout.ports.controller_manager
        ),
        f"--service-account-private-key-file={pki.sa_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--cluster-signing-cert-file={pki.ca_cert}",
        f"--cluster-signing-key-file={pki.ca_key}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--use-service-account-credentials=true",
        # A kubelet re-reports its pods' readiness once its node is Ready again; kwok does not, so
        # pods the node lifecycle controller marked NotReady would stay so for good. Nodes must
        # therefore outlive an outage of the control plane itself (kwok cannot renew its leases
        # while etcd is down; tests/chaos stops it for 30 s) rather than be declared dead by it.
        "--node-monitor-grace-period=120s",
    ]


def scheduler(layout: Layout) -> list[str]:
    return _control_loop(layout, "kube-scheduler", "scheduler", layout.ports.scheduler)


def kwok(layout: Layout) -> list[str]:
    return [
        str(toolchain.find("kwok")),
        # An explicit config keeps a user's ~/.kwok/kwok.yaml out of our clusters.
        f"--config={layout.kwok_config}",
        f"--kubeconfig={layout.kubeconfig}",
        "--manage-all-nodes=true",
        f"--cidr={POD_CIDR}",
        "--node-ip=10.240.0.1",  # outside both the pod and the Service ranges
        f"--server-address=127.0.0.1:{layout.ports.kwok}",
        # Without a lease kwok renews nothing between status patches, and the node
        # lifecycle controller marks the nodes NotReady after its grace period
        # (pods then lose Ready); with one, the lease is the heartbeat, as a kubelet's is.
        "--node-lease-duration-seconds=40",
    ]


def kwok_config() -> str:
    """kwok's configuration: the Stage objects it plays.

    No KwokConfiguration document: a loaded one is not defaulted (kwok then
    refuses a zero parallelism), while an absent one is; options go on the
    command line instead.
    """
    stages = sorted(toolchain.share("kwok").glob("*.yaml"))
    return "---\n".join([*(s.read_text() for s in stages), IMAGE_PULL_FAILURE_STAGE])


FAILING_IMAGE_TAG = "fail"

# Pods with a container image tagged `:fail` (e.g. `registry.example/web:fail`)
# never start: their containers wait in ImagePullBackOff and the pod stays
# Pending and not Ready, as with an image that does not exist. Tests use it
# for degraded rollouts. Such a pod also matches the release's pod-ready
# stage; kwok then picks among the matching stages with a positive weight
# only, so weight 1 here always wins over pod-ready's default 0. The status
# holds no timestamps: re-applying it changes nothing, so the pod is not
# re-written in a loop.
IMAGE_PULL_FAILURE_STAGE = f"""\
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: gitward-pod-image-pull-failure
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  weight: 1
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.spec.containers.[].image | endswith(":{FAILING_IMAGE_TAG}")'
      operator: 'In'
      values:
      - 'true'
  next:
    statusTemplate: |
      conditions:
      - status: "True"
        type: Initialized
      - status: "False"
        type: Ready
        reason: ContainersNotReady
      - status: "False"
        type: ContainersReady
        reason: ContainersNotReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            {{{{ if hasSuffix ":{FAILING_IMAGE_TAG}" .image }}}}
            reason: ImagePullBackOff
            message: {{{{ printf "Back-off pulling image %q" .image | Quote }}}}
            {{{{ else }}}}
            reason: ContainerCreating
            {{{{ end }}}}
      {{{{ end }}}}
      {{{{ with NodeIPsWith .spec.nodeName }}}}
      hostIP: {{{{ index . 0 | Quote }}}}
      {{{{ end }}}}
      phase: Pending
"""


def node(name: str) -> dict[str, object]:
    """A fake node for kwok to keep Ready; generous capacity so benchmarks fit."""
    capacity = {"cpu": "32", "memory": "256Gi", "pods": "250"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
            "labels": {
                "type": "kwok",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/agent": "",
            },
        },
        "status": {
            "allocatable": capacity,
            "capacity": capacity,
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "kwok"},
            "phase": "Running",
        },
    }


def node_names(count: int) -> list[str]:
    return [f"kwok-node-{i}" for i in range(count)]
