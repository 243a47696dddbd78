"""Compatibility mode: Argo CD's own Application, as a user already has it, deploys its app.

The seed file is applied byte for byte except its repoURL, to a controller
serving argoproj.io/v1alpha1 (`--compat argocd`), over a repository shaped as
the seed expects: manifests/ at HEAD.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.processes import ControllerProcess, controller_process
from tests.e2e.support import CONFIG, DEPLOYMENT, app_status, install_crds, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

# shared/ sits beside the repository (the checkout and CI's clone alike), never at a fixed path.
SEED = Path(__file__).resolve().parents[3] / "shared" / "examples" / "seed-application.yaml"
SEED_URL = "https://github.com/example/my-app.git"


@pytest.fixture
def compat_controller(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[ControllerProcess]:
    """`gitward controller --compat argocd`, with the CRDs `gitward install --compat argocd` ships."""
    install_crds(cluster, compat_argocd=True)
    with controller_process(cluster, namespace, tmp_path / "controller", "--compat", "argocd") as running:
        yield running


async def test_the_seed_application_deploys_and_cascades_on_delete(
    cluster: Cluster, namespace: str, compat_controller: ControllerProcess, repo: tuple[str, Upstream]
) -> None:
    url, shop = repo
    # What the seed names: manifests/ at HEAD. Object names are unique: its destination is `default`.
    suffix = secrets.token_hex(3)
    my_app = Upstream(shop.path.parent / "my-app")
    my_app.commit(
        {
            "manifests/config.yaml": CONFIG.format(colour="blue").replace(
                "name: settings", f"name: seed-{suffix}"
            ),
            "manifests/web.yaml": DEPLOYMENT.format(replicas=2).replace(
                "name: web\n", f"name: seed-{suffix}\n", 1
            ),
        }
    )
    seed = SEED.read_text()
    assert seed.count(SEED_URL) == 1
    cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=seed.replace(SEED_URL, url.rsplit("/", 1)[0] + "/my-app")
    )

    def status() -> dict[str, Any]:
        return app_status(cluster, namespace, "my-app", group="argoproj.io")

    def synced_and_healthy() -> bool:
        found = status()
        return (found.get("sync") or {}).get("status") == "Synced" and (found.get("health") or {}).get(
            "status"
        ) == "Healthy"

    await until(
        lambda: synced_and_healthy() or not compat_controller.alive(),
        timeout=90,
        what="the seed app Synced and Healthy",
    )
    assert compat_controller.alive(), compat_controller.text()
    assert (status().get("sync") or {}).get("revision") == my_app.head()
    deployment = live(cluster, "deployment", f"seed-{suffix}", "default")
    assert deployment is not None and deployment["spec"]["replicas"] == 2
    assert live(cluster, "configmap", f"seed-{suffix}", "default") is not None

    # `argocd app delete --cascade` sets Argo CD's finalizer, then deletes: the resources go with the app.
    cluster.kubectl(
        "patch",
        "applications.argoproj.io",
        "my-app",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"metadata": {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}}),
    )
    cluster.kubectl("delete", "applications.argoproj.io", "my-app", "-n", namespace, "--wait=false")

    def gone() -> bool:
        app = cluster.kubectl(
            "get", "applications.argoproj.io", "my-app", "-n", namespace, "--ignore-not-found", "-o", "name"
        )
        return not app.strip() and all(
            live(cluster, kind, f"seed-{suffix}", "default") is None for kind in ("configmap", "deployment")
        )

    await until(gone, what="the cascade delete")
