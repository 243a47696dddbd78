"""Custom health rules end to end: from the ConfigMap gitward-cm and from the app's AppProject.

The example app's ConfigMap has no built-in health; a rule gives it one, and
the Application's status (resource and app health) follows what Git sets.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from gitward.controller.run import Controller
from tests.e2e.support import CONFIG, app_status, application, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

# The colour in Git decides: blue is fine, red is broken.
COLOUR_RULE = """\
healthy: "object.data.colour == 'blue'"
degraded: "object.data.colour == 'red'"
message: "'colour is ' + object.data.colour"
"""


def health_of(cluster: Cluster, namespace: str, kind: str = "ConfigMap") -> dict[str, Any] | None:
    for resource in app_status(cluster, namespace, "shop").get("resources") or []:
        if resource["kind"] == kind:
            found: dict[str, Any] | None = resource.get("health")
            return found
    return None


def put_config_map(cluster: Cluster, namespace: str, data: dict[str, str]) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gitward-cm", "namespace": namespace},
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps({**config, "data": data}))


def create_app(cluster: Cluster, namespace: str, url: str, project: str = "default") -> str:
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    app = application(namespace, target, url)
    app["spec"]["project"] = project
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    return target


async def test_a_rule_in_gitward_cm_judges_a_kind_without_built_in_health(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, upstream = repo
    put_config_map(cluster, namespace, {"resource.customizations.health.ConfigMap": COLOUR_RULE})
    create_app(cluster, namespace, url)

    await until(
        lambda: health_of(cluster, namespace) == {"status": "Healthy", "message": "colour is blue"},
        what="the ConfigMap Healthy by the rule",
    )

    upstream.commit({"deploy/config.yaml": CONFIG.format(colour="red")})

    await until(
        lambda: health_of(cluster, namespace) == {"status": "Degraded", "message": "colour is red"},
        what="the ConfigMap Degraded by the rule",
    )
    health = app_status(cluster, namespace, "shop")["health"]
    assert health == {"status": "Degraded", "message": "colour is red"}


async def test_a_broken_rule_is_left_out_and_the_others_still_apply(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    put_config_map(
        cluster,
        namespace,
        {
            "resource.customizations.health.ConfigMap": COLOUR_RULE,
            # Not CEL: this kind keeps its built-in health, nothing else is affected.
            "resource.customizations.health.apps_Deployment": "healthy: 'object.status.(('",
        },
    )
    create_app(cluster, namespace, url)

    await until(
        lambda: health_of(cluster, namespace) == {"status": "Healthy", "message": "colour is blue"},
        what="the ConfigMap Healthy by the rule",
    )
    deployment = await until(lambda: health_of(cluster, namespace, "Deployment"), what="Deployment health")
    assert deployment["status"] in ("Healthy", "Progressing")


async def test_the_projects_rule_wins_over_gitward_cm(
    cluster: Cluster, namespace: str, controller: Controller, repo: tuple[str, Upstream]
) -> None:
    url, _ = repo
    put_config_map(cluster, namespace, {"resource.customizations.health.ConfigMap": COLOUR_RULE})
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team", "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "healthRules": [
                {
                    "kind": "ConfigMap",
                    "degraded": "object.data.colour == 'blue'",
                    "message": "'this team does not ship blue'",
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(project))
    create_app(cluster, namespace, url, project="team")

    await until(
        lambda: (
            health_of(cluster, namespace) == {"status": "Degraded", "message": "this team does not ship blue"}
        ),
        what="the ConfigMap Degraded by the project's rule",
    )


async def test_a_change_of_gitward_cm_re_judges_the_apps_at_once(
    cluster: Cluster, namespace: str, repo: tuple[str, Upstream], slow_poll: Controller
) -> None:
    url, _ = repo
    create_app(cluster, namespace, url)
    await until(
        lambda: app_status(cluster, namespace, "shop").get("sync", {}).get("status") == "Synced",
        what="the app Synced",
    )
    assert health_of(cluster, namespace) is None  # no rule: a ConfigMap has no health

    put_config_map(cluster, namespace, {"resource.customizations.health.ConfigMap": COLOUR_RULE})

    await until(
        lambda: health_of(cluster, namespace) == {"status": "Healthy", "message": "colour is blue"},
        what="the ConfigMap judged by the new rule",
    )
