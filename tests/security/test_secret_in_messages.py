"""A password a tenant wrote into a repoURL never reaches a condition or an Event.

The spec is the tenant's own and is shown back to its readers as written
(`status.sync.comparedTo` echoes it), but messages are built by many layers
(project policy, Git, helm pull) and are read more widely: in `kubectl get
events`, notifications and logs. The status writer redacts every URL in a
message before it compares and writes, whichever layer built it.
"""

from __future__ import annotations

import json

import pytest

from gitward.controller.run import Controller
from gitward.controller.status import redacted
from tests.e2e.support import application, until
from tests.helpers import Cluster
from tests.security.conftest import Bystander

PASSWORD = "hunter2-0f9c"
LEAKY = f"https://alice:{PASSWORD}@git.example/team-b/shop.git"


def test_every_message_in_a_status_is_redacted_at_any_depth() -> None:
    status = {
        "conditions": [{"type": "InvalidSpecError", "message": f"application repo {LEAKY} is not permitted"}],
        "operationState": {"message": f"cannot fetch {LEAKY}", "syncResult": {"resources": []}},
        "sync": {"comparedTo": {"source": {"repoURL": LEAKY}}},
    }
    shown = redacted(status)
    assert PASSWORD not in json.dumps(shown["conditions"])
    assert PASSWORD not in shown["operationState"]["message"]
    assert "git.example/team-b/shop.git is not permitted" in shown["conditions"][0]["message"]
    # Not a message: the tenant's own spec, echoed as written, so a change of it is still seen.
    assert shown["sync"]["comparedTo"]["source"]["repoURL"] == LEAKY


@pytest.mark.cluster
async def test_a_refused_repo_url_with_a_password_shows_none_of_it_in_conditions_or_events(
    cluster: Cluster, namespace: str, controller: Controller, bystander: Bystander
) -> None:
    project = {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team-a", "namespace": namespace},
        "spec": {
            "sourceRepos": ["https://git.example/team-a/*"],
            "destinations": [{"server": "*", "namespace": "*"}],
        },
    }
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(project))
    app = application(namespace, namespace, LEAKY, name="leaky")
    app["spec"]["project"] = "team-a"
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))

    def refused() -> dict[str, object] | None:
        found = cluster.get_json("applications.gitward.dev", "leaky", "-n", namespace)
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "InvalidSpecError"), None)

    condition = await until(refused, timeout=60, what="the InvalidSpecError condition")
    assert "git.example/team-b/shop.git is not permitted in project 'team-a'" in str(condition["message"])
    assert PASSWORD not in str(condition["message"])
    events = cluster.kubectl("get", "events", "-n", namespace, "-o", "json")
    assert PASSWORD not in events
    await bystander.heals()
