"""The watch store: what subscribers hear, and the tracking-id index, with plain dicts."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from gitward.kube.store import Change, ChangeType, Store, is_status_only
from gitward.model.resource import ResourceKey


def cm(name: str, data: dict[str, str], tracking: str | None = None, rv: str = "1") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "ns", "resourceVersion": rv}
    if tracking:
        metadata["annotations"] = {"gitward.dev/tracking-id": tracking}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def recorder(store: Store) -> list[Change]:
    changes: list[Change] = []
    store.subscribe(changes.append)
    return changes


def test_status_and_bookkeeping_churn_is_not_a_change() -> None:
    old = cm("a", {"k": "v"}) | {"status": {"ready": False}}
    new = copy.deepcopy(old)
    new["status"] = {"ready": True}
    new["metadata"].update(resourceVersion="2", managedFields=[{"manager": "kubelet"}])
    assert is_status_only(old, new)
    new["metadata"]["labels"] = {"x": "y"}
    assert not is_status_only(old, new)


def test_subscribers_hear_additions_edits_and_deletions_but_not_status() -> None:
    store = Store()
    changes = recorder(store)
    store.upsert(cm("a", {"k": "1"}, "app:/ConfigMap:ns/a"))
    store.upsert(cm("a", {"k": "1"}, "app:/ConfigMap:ns/a", rv="2") | {"status": {"seen": True}})
    store.upsert(cm("a", {"k": "2"}, "app:/ConfigMap:ns/a", rv="3"))
    store.remove(ResourceKey("", "ConfigMap", "ns", "a"))
    store.remove(ResourceKey("", "ConfigMap", "ns", "a"))
    assert [(c.type, c.tracking_id) for c in changes] == [
        (ChangeType.added, "app:/ConfigMap:ns/a"),
        (ChangeType.modified, "app:/ConfigMap:ns/a"),
        (ChangeType.deleted, "app:/ConfigMap:ns/a"),
    ]


def test_tracking_index_follows_annotation_changes() -> None:
    store = Store()
    store.upsert(cm("a", {}, "one:/ConfigMap:ns/a"))
    store.upsert(cm("b", {}, "two:/ConfigMap:ns/b"))
    store.upsert(cm("a", {}, "two:/ConfigMap:ns/a"))
    assert store.tracked_by("one") == []
    assert [o["metadata"]["name"] for o in store.tracked_by("two")] == ["a", "b"]
    assert [o["metadata"]["name"] for o in store.by_tracking_id("two:/ConfigMap:ns/a")] == ["a"]
    store.upsert(cm("a", {}))
    assert store.by_tracking_id("two:/ConfigMap:ns/a") == []


def test_a_relist_removes_what_vanished_and_keeps_other_kinds() -> None:
    store = Store()
    store.upsert(cm("a", {}))
    store.upsert(cm("b", {}))
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a", "namespace": "ns"}}
    store.upsert(secret)
    changes = recorder(store)
    store.replace_kind("", "ConfigMap", [cm("b", {}, rv="5"), cm("c", {})])
    assert sorted((c.type.value, c.key.name) for c in changes) == [("ADDED", "c"), ("DELETED", "a")]
    assert store.get(ResourceKey("", "Secret", "ns", "a")) is not None
    assert len(store) == 3


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    store = Store()

    def broken(change: Change) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    changes = recorder(store)
    store.upsert(cm("a", {}))
    assert len(changes) == 1


async def test_a_reader_waits_for_its_own_write_and_no_longer() -> None:
    store = Store()
    key = ResourceKey("", "ConfigMap", "ns", "a")
    store.upsert(cm("a", {"k": "v"}, rv="5"))
    assert await store.caught_up(key, 5, timeout=0.01)  # already there: no wait

    waiting = asyncio.create_task(store.caught_up(key, 9, timeout=5))
    await asyncio.sleep(0)
    store.upsert(cm("a", {"k": "older write"}, rv="7"))
    await asyncio.sleep(0)
    assert not waiting.done()  # a copy older than the write does not release the reader
    store.upsert(cm("a", {"k": "ours"}, rv="9"))
    assert await waiting

    gone = asyncio.create_task(store.caught_up(key, 20, timeout=5))
    await asyncio.sleep(0)
    store.remove(key)
    assert await gone  # deleted since: there is nothing newer to wait for


async def test_a_write_the_watch_never_shows_gives_up_after_the_timeout() -> None:
    store = Store()
    key = ResourceKey("", "ConfigMap", "ns", "a")
    store.upsert(cm("a", {"k": "v"}, rv="5"))
    assert not await store.caught_up(key, 6, timeout=0.05)
    assert not await store.caught_up(ResourceKey("", "ConfigMap", "ns", "never"), 1, timeout=0.01)
    store.upsert(cm("a", {"k": "v"}, rv="6"))  # nobody waits any more: nothing to release
    assert await store.caught_up(key, 6, timeout=0.01)
