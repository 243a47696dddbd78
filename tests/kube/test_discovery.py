"""Discovery of every served resource, including a CRD created while gitward runs."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import Discovery, UnknownKind
from gitward.kube.errors import KubeError
from tests.helpers import Cluster
from tests.kube.manifests import crd

pytestmark = pytest.mark.cluster


async def test_builtin_kinds_resolve_to_their_paths(discovery: Discovery) -> None:
    deployments = await discovery.resolve("apps/v1", "Deployment")
    assert deployments.path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    nodes = await discovery.preferred("", "Node")
    assert (nodes.namespaced, nodes.path(name="n1")) == (False, "/api/v1/nodes/n1")
    assert {"list", "watch", "patch"} <= nodes.verbs


async def test_a_crd_created_later_is_found_on_first_use(
    cluster: Cluster, namespace: str, discovery: Discovery, writer: Writer
) -> None:
    group = f"g{secrets.token_hex(3)}.example.com"
    with pytest.raises(UnknownKind, match=f"no Gadget in {group}/v1"):
        await discovery.resolve(f"{group}/v1", "Gadget")

    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(crd(group, "Gadget", "gadgets")))
    try:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=60s")

        async def resolved() -> None:
            while True:
                try:
                    await discovery.resolve(f"{group}/v1", "Gadget")
                    return
                except UnknownKind:
                    await asyncio.sleep(0.5)

        await asyncio.wait_for(resolved(), 30)
        gadgets = await discovery.resolve(f"{group}/v1", "Gadget")
        assert (gadgets.plural, gadgets.namespaced) == ("gadgets", True)

        gadget = {
            "apiVersion": f"{group}/v1",
            "kind": "Gadget",
            "metadata": {"name": "g", "namespace": namespace},
        }
        applied = await writer.apply({**gadget, "spec": {"size": 3}})
        assert applied["spec"] == {"size": 3}
        typo = {**gadget, "spec": {"size": 3, "colour": "red"}}
        with pytest.raises(KubeError) as caught:
            await writer.apply(typo)
        assert "spec.colour" in str(caught.value)
    finally:
        cluster.kubectl("delete", "crd", f"gadgets.{group}", "--wait=false")


async def test_the_classic_walk_finds_what_aggregated_discovery_finds(connection: Connection) -> None:
    aggregated, classic = Discovery(connection), Discovery(connection, aggregated=False)
    await asyncio.gather(aggregated.refresh(), classic.refresh())
    assert len(aggregated.resources) > 40
    assert set(classic.resources) == set(aggregated.resources)
