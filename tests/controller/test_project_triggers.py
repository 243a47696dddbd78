"""Which apps a project change wakes, and that a wake-up is not swallowed by a later poll (no cluster)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

from gitward.controller.projects import Projects, is_manual, window_condition
from gitward.controller.queue import WorkQueue
from gitward.kube import WatchCache
from gitward.kube.store import Store
from gitward.model.application import AppResource


def app(name: str, namespace: str = "gitward", project: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"destination": {"namespace": "shop"}}
    if project is not None:
        spec["project"] = project
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def project(name: str, namespace: str = "gitward", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1"},
        "spec": spec,
    }


async def drain(queue: WorkQueue) -> set[str]:
    names = set()
    while len(queue):
        key = await queue.get()
        queue.done(key)
        names.add(key)
    return names


async def test_a_project_change_wakes_exactly_the_apps_that_name_it() -> None:
    store = Store()
    for obj in (
        app("a", project="team"),
        app("b"),  # no project: the default one
        app("c", project="other"),
        app("d", namespace="elsewhere", project="team"),  # another controller's
    ):
        store.upsert(obj)
    queue = WorkQueue()
    projects = Projects(cast(WatchCache, SimpleNamespace(store=store)), AppResource(), "gitward", queue)
    store.subscribe(projects.on_change)

    store.upsert(project("team"))
    assert await drain(queue) == {"a"}
    store.upsert(project("default", sourceRepos=["*"]))
    assert await drain(queue) == {"b"}
    store.upsert(project("team", namespace="elsewhere"))  # not this controller's project
    assert await drain(queue) == set()


async def test_a_sooner_wake_up_replaces_a_later_poll() -> None:
    queue = WorkQueue()
    queue.add_after("shop", 600.0)  # the poll set after a pass
    queue.add_after("shop", 0.01)  # a window opening soon
    assert await asyncio.wait_for(queue.get(), timeout=30) == "shop"
    queue.shutdown()


def test_an_operation_is_manual_unless_marked_automated() -> None:
    assert not is_manual({})
    assert is_manual({"sync": {}})
    assert is_manual({"sync": {}, "initiatedBy": {"username": "me"}})
    assert not is_manual({"sync": {}, "initiatedBy": {"automated": True}})


def test_the_window_condition_keeps_its_time_while_it_holds() -> None:
    first = window_condition({}, "blocked", "2026-01-01T00:00:00Z")
    again = window_condition({"conditions": [first]}, "blocked", "2026-01-01T00:05:00Z")
    assert again == first
    changed = window_condition({"conditions": [first]}, "blocked otherwise", "2026-01-01T00:05:00Z")
    assert changed["lastTransitionTime"] == "2026-01-01T00:05:00Z"


async def test_in_compatibility_mode_argo_cd_projects_govern_argo_cd_apps() -> None:
    store = Store()
    store.upsert({**app("argo", project="team"), "apiVersion": "argoproj.io/v1alpha1"})
    store.upsert(app("ours", project="team"))
    queue = WorkQueue()
    resource = AppResource(group="argoproj.io")
    projects = Projects(cast(WatchCache, SimpleNamespace(store=store)), resource, "gitward", queue)
    store.subscribe(projects.on_change)

    store.upsert(project("team"))  # gitward.dev's: not this controller's
    assert await drain(queue) == set()
    store.upsert({**project("team"), "apiVersion": "argoproj.io/v1alpha1"})
    assert await drain(queue) == {"argo"}
