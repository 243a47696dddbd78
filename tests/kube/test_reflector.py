"""The watch cache: list-then-watch per kind into one store indexed by tracking id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from gitward.kube.apply import Writer
from gitward.kube.connection import Connection
from gitward.kube.discovery import Discovery
from gitward.kube.reflector import WatchCache
from gitward.kube.store import Change, ChangeType
from gitward.model.resource import ResourceKey
from tests.helpers import Cluster
from tests.kube.manifests import config_map

pytestmark = pytest.mark.cluster


@pytest.fixture
async def cache(connection: Connection, discovery: Discovery) -> AsyncIterator[WatchCache]:
    watch_cache = WatchCache(connection, discovery)
    yield watch_cache
    await watch_cache.aclose()


async def until(check: Callable[[], object], what: str, timeout: float = 15.0) -> None:
    """Like tests.helpers.eventually, but yielding to the event loop the reflector runs on."""

    async def poll() -> None:
        while not check():
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def kubectl(cluster: Cluster, *args: str, stdin: str | None = None) -> str:
    # In a thread: the reflector must keep reading its watch while kubectl runs.
    return await asyncio.to_thread(cluster.kubectl, *args, stdin=stdin)


def changes_of(changes: list[Change], key: ResourceKey) -> list[Change]:
    return [c for c in changes if c.key == key]


async def test_only_the_kinds_asked_for_are_watched(cache: WatchCache) -> None:
    assert cache.watched == []
    await cache.ensure("v1", "ConfigMap")
    await cache.ensure_all([("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "ConfigMap")])
    assert sorted((r.group, r.kind) for r in cache.watched) == [("", "ConfigMap"), ("apps", "Deployment")]


async def test_a_kubectl_edit_of_a_tracked_object_is_seen(
    cluster: Cluster, namespace: str, writer: Writer, cache: WatchCache
) -> None:
    tracking = f"guestbook:/ConfigMap:{namespace}/settings"
    await writer.apply(config_map(namespace, "settings", {"mode": "a"}, tracking))
    await writer.apply(config_map(namespace, "other", {}, f"other-app:/ConfigMap:{namespace}/other"))
    await cache.ensure("v1", "ConfigMap")
    changes: list[Change] = []
    cache.store.subscribe(changes.append)

    assert [o["metadata"]["name"] for o in cache.store.by_tracking_id(tracking)] == ["settings"]
    assert [o["metadata"]["name"] for o in cache.store.tracked_by("guestbook")] == ["settings"]

    await kubectl(
        cluster,
        "patch",
        "configmap",
        "settings",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        '{"data":{"mode":"b"}}',
    )
    key = ResourceKey("", "ConfigMap", namespace, "settings")
    await until(lambda: changes_of(changes, key), "the edit to reach subscribers")
    change = changes_of(changes, key)[0]
    assert (change.type, change.tracking_id) == (ChangeType.modified, tracking)
    stored = cache.store.get(key)
    assert stored is not None
    assert stored["data"] == {"mode": "b"}

    await kubectl(cluster, "delete", "configmap", "settings", "-n", namespace)
    await until(lambda: cache.store.get(key) is None, "the deletion")
    assert changes_of(changes, key)[-1].type is ChangeType.deleted
    assert cache.store.by_tracking_id(tracking) == []


async def test_status_only_changes_are_stored_but_not_announced(
    cluster: Cluster, namespace: str, writer: Writer, cache: WatchCache
) -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "lb",
            "namespace": namespace,
            "annotations": {"gitward.dev/tracking-id": "a:/Service:x/lb"},
        },
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    await writer.apply(service)
    await cache.ensure("v1", "Service")
    key = ResourceKey("", "Service", namespace, "lb")
    changes: list[Change] = []
    cache.store.subscribe(changes.append)

    status = {"status": {"loadBalancer": {"ingress": [{"ip": "10.1.2.3"}]}}}
    await kubectl(
        cluster,
        "patch",
        "service",
        "lb",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    await kubectl(cluster, "label", "service", "lb", "-n", namespace, "tier=web")
    # One watch delivers events in order, so once the label is seen the status patch was handled before it.
    await until(lambda: changes_of(changes, key), "the label change")
    stored = cache.store.get(key)
    assert stored is not None
    assert [i["ip"] for i in stored["status"]["loadBalancer"]["ingress"]] == ["10.1.2.3"]
    assert [(c.type, c.obj["metadata"]["labels"]) for c in changes_of(changes, key)] == [
        (ChangeType.modified, {"tier": "web"})
    ]


async def test_a_watch_from_a_version_the_server_no_longer_has_lists_again(
    cluster: Cluster, namespace: str, writer: Writer, cache: WatchCache, gadget_group: str
) -> None:
    def gadget(name: str) -> dict[str, object]:
        return {
            "apiVersion": f"{gadget_group}/v1",
            "kind": "Gadget",
            "metadata": {"name": name, "namespace": namespace},
        }

    await writer.apply(gadget("before"))
    reflector = await cache.ensure(f"{gadget_group}/v1", "Gadget")
    lists = reflector.lists

    # The namespace is older than the CRD, so its version predates everything the server
    # keeps for gadgets: resuming there is answered with 410 Gone (Expired).
    older = cluster.get_json("namespace", namespace)["metadata"]["resourceVersion"]
    reflector.restart_watch(older)
    await until(lambda: reflector.lists > lists, "a fresh list after 410 Gone")

    await writer.apply(gadget("after"))
    await until(
        lambda: cache.store.get(ResourceKey(gadget_group, "Gadget", namespace, "after")),
        "the watch to resume",
    )
    assert cache.store.get(ResourceKey(gadget_group, "Gadget", namespace, "before")) is not None
