"""A tenant's app with a repository of its own, on the Git server of the e2e `repo` fixture.

Attacks through Git content push to this repository, so that the bystander
(which follows the `shop` repository) is never touched by the attack's commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.e2e.support import CONFIG, app_status, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream


@dataclass
class Tenant:
    upstream: Upstream
    target: str  # the namespace the app deploys to
    good: str  # the revision synced before the attack: deploy/config.yaml, ConfigMap `settings`, blue
    name: str = "tenant"


async def synced_tenant(cluster: Cluster, namespace: str, repo: tuple[str, Upstream]) -> Tenant:
    """Create the repository and the Application (automated sync) and wait until it is Synced."""
    url, shop = repo
    upstream = Upstream(shop.path.parent / "tenant")
    good = upstream.commit({"deploy/config.yaml": CONFIG.format(colour="blue")})
    tenant = Tenant(upstream, f"{namespace}-tenant", good)
    cluster.kubectl("create", "namespace", tenant.target)
    spec = application(namespace, tenant.target, url.rsplit("/", 1)[0] + "/tenant", name=tenant.name)
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(spec))

    def synced() -> bool:
        sync = app_status(cluster, namespace, tenant.name).get("sync") or {}
        return sync.get("status") == "Synced" and sync.get("revision") == good

    await until(synced, what="the tenant's app synced")
    return tenant
