"""The app list in Chromium over more apps than one page: the server cuts the pages, the UI walks them.

120 Applications (objects with a status, as a controller would write it; no
controller runs) at the UI's default page size of 50: the list shows the
total and one page, the pager and the rows work from the keyboard, search
and filters narrow on the server, and streamed changes update the page
without the page ever asking for more than one page of apps.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Page, Request, expect

from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from tests.ui.test_browser import sign_in

pytestmark = pytest.mark.cluster

APPS = 120
PAGE = 50  # the UI's page size when the address names none
WAIT = 30_000  # ms


def application(namespace: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "gitward.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"app-{i:03d}", "namespace": namespace},
        "spec": {
            "project": "team-a" if i % 3 == 0 else "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": f"ns-{i % 4}"},
            "source": {"repoURL": "https://git.example/apps.git", "path": f"apps/{i}"},
        },
    }


def status(i: int) -> dict[str, Any]:
    return {
        "sync": {"status": "OutOfSync" if i % 10 == 7 else "Synced", "revision": f"{i:040x}"},
        "health": {"status": "Degraded" if i % 20 == 5 else "Healthy"},
    }


async def create(connection: Connection, namespace: str, i: int, state: dict[str, Any]) -> None:
    base = f"/apis/gitward.dev/v1alpha1/namespaces/{namespace}/applications"
    await connection.request("POST", base, body=application(namespace, i))
    await set_status(connection, namespace, f"app-{i:03d}", state)


async def set_status(connection: Connection, namespace: str, name: str, state: dict[str, Any]) -> None:
    await connection.request(
        "PATCH",
        f"/apis/gitward.dev/v1alpha1/namespaces/{namespace}/applications/{name}/status",
        body={"status": state},
        content_type="application/merge-patch+json",
    )


async def listed(url: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        answer = await client.get(
            "/api/v1/applications", params={"limit": 1}, headers={"Authorization": f"Bearer {token}"}
        )
        return int(answer.json()["total"])


async def names(page: Page) -> list[str]:
    found: list[str] = await page.locator("tr[data-app]").evaluate_all("rows => rows.map(r => r.dataset.app)")
    return found


async def test_server_side_pages_search_filters_keyboard_and_live_changes(
    namespace: str, connection: Connection, site: tuple[str, Page], artefacts: Path
) -> None:
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        async with limit:
            await create(connection, namespace, i, status(i))

    await asyncio.gather(*(one(i) for i in range(APPS)))
    reader = await create_token(connection, namespace, "viewer", Role.read_only, ["*"])
    url, page = site
    for _ in range(100):  # the server's watch has every app before the page opens
        if await listed(url, reader) == APPS:
            break
        await asyncio.sleep(0.2)

    asked: list[dict[str, list[str]]] = []

    def hear(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.path == "/api/v1/applications":
            asked.append(parse_qs(parts.query))

    page.on("request", hear)
    rows = page.locator("tr[data-app]")
    count = page.get_by_test_id("app-count")
    position = page.get_by_test_id("page-position")
    previous = page.get_by_role("button", name="← Previous")
    following = page.get_by_role("button", name="Next →")

    await sign_in(page, url, reader)
    await expect(count).to_have_text(f"{APPS} apps", timeout=WAIT)
    await expect(rows).to_have_count(PAGE)
    assert await names(page) == [f"app-{i:03d}" for i in range(PAGE)]
    await expect(position).to_have_text("Page 1 of 3")
    await expect(previous).to_be_disabled()

    # Keyboard: Tab from the last filter reaches the first row, Tab from the last row the pager
    # (the disabled Previous is skipped), and Enter turns the page.
    await page.get_by_label("Health").focus()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="app-000", exact=True)).to_be_focused()
    await page.get_by_role("link", name=f"app-{PAGE - 1:03d}", exact=True).focus()
    await page.keyboard.press("Tab")
    await expect(following).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(rows.first).to_have_attribute("data-app", f"app-{PAGE:03d}", timeout=WAIT)
    await expect(position).to_have_text("Page 2 of 3")
    assert await names(page) == [f"app-{i:03d}" for i in range(PAGE, 2 * PAGE)]
    await expect(count).to_have_text(f"{APPS} apps")
    await page.screenshot(path=str(artefacts / "list-page-2.png"), full_page=True)
    await page.keyboard.press("Enter")
    await expect(position).to_have_text("Page 3 of 3", timeout=WAIT)
    await expect(rows).to_have_count(APPS - 2 * PAGE, timeout=WAIT)
    assert await names(page) == [f"app-{i:03d}" for i in range(2 * PAGE, APPS)]
    await expect(following).to_be_disabled()
    # The last page disables Next under the focus: it moves to Previous rather than to nowhere.
    await expect(previous).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(rows.first).to_have_attribute("data-app", f"app-{PAGE:03d}", timeout=WAIT)
    await page.keyboard.press("Enter")
    await expect(rows.first).to_have_attribute("data-app", "app-000", timeout=WAIT)
    await expect(position).to_have_text("Page 1 of 3")
    await expect(following).to_be_focused()
    # A row's link opens its app on Enter.
    await page.get_by_role("link", name="app-007", exact=True).focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="app-007")).to_be_visible(timeout=WAIT)
    await page.go_back()
    await expect(rows).to_have_count(PAGE, timeout=WAIT)

    # Search and filters are answered by the server, over all 120 apps, not the page on screen.
    await page.get_by_label("Search").fill("app-11")
    await expect(count).to_have_text("10 apps match", timeout=WAIT)
    assert await names(page) == [f"app-{i}" for i in range(110, 120)]
    await expect(position).to_have_text("Page 1 of 1")
    await expect(following).to_be_disabled()
    await page.get_by_role("button", name="Clear filters").click()
    await expect(count).to_have_text(f"{APPS} apps", timeout=WAIT)

    await page.get_by_label("Project").fill("team-a")
    await expect(count).to_have_text("40 apps match", timeout=WAIT)
    assert await names(page) == [f"app-{i:03d}" for i in range(0, APPS, 3)]
    await page.get_by_label("Project").fill("")
    await page.get_by_label("Sync").select_option("OutOfSync")
    await expect(count).to_have_text("12 apps match", timeout=WAIT)
    assert await names(page) == [f"app-{i:03d}" for i in range(7, APPS, 10)]
    await page.get_by_label("Sync").select_option(label="any")
    await page.get_by_label("Health").select_option("Degraded")
    await expect(count).to_have_text("6 apps match", timeout=WAIT)
    assert await names(page) == [f"app-{i:03d}" for i in range(5, APPS, 20)]
    # Both: no app is OutOfSync (i % 10 == 7) and Degraded (i % 20 == 5).
    await page.get_by_label("Sync").select_option("OutOfSync")
    await expect(page.get_by_text("No application matches these filters.")).to_be_visible(timeout=WAIT)
    await expect(count).to_have_text("0 apps match")
    await expect(rows).to_have_count(0)
    await page.screenshot(path=str(artefacts / "list-empty.png"))
    await page.get_by_role("button", name="Clear filters").click()
    await expect(count).to_have_text(f"{APPS} apps", timeout=WAIT)
    await expect(rows).to_have_count(PAGE)

    # Live: a status change on this page shows in its row without asking for the list again.
    before = len(asked)
    await set_status(connection, namespace, "app-003", {"sync": {"status": "OutOfSync"}})
    await expect(page.locator("tr[data-app='app-003']").get_by_test_id("sync-status")).to_have_text(
        "⚠ OutOfSync", timeout=WAIT
    )
    await asyncio.sleep(1)  # longer than the page waits before a reload, had it scheduled one
    assert asked[before:] == []
    # A new app reloads this one page, and only it: the count and the row follow.
    await create(connection, namespace, 1000, status(1))  # app-1000: on page 3, after app-100
    await expect(count).to_have_text(f"{APPS + 1} apps", timeout=WAIT)
    assert len(asked) > before
    await expect(rows.first).to_have_attribute("data-app", "app-000")
    # Filtered, a change can move an app into the filter or out of it: the page follows both.
    await page.get_by_label("Sync").select_option("OutOfSync")
    await expect(count).to_have_text("13 apps match", timeout=WAIT)  # i % 10 == 7, and app-003
    await set_status(connection, namespace, "app-004", {"sync": {"status": "OutOfSync"}})
    await expect(page.locator("tr[data-app='app-004']")).to_be_visible(timeout=WAIT)
    await expect(count).to_have_text("14 apps match")
    await set_status(connection, namespace, "app-003", {"sync": {"status": "Synced"}})
    await expect(page.locator("tr[data-app='app-003']")).to_have_count(0, timeout=WAIT)
    await expect(count).to_have_text("13 apps match")

    # Every list request the page made asked for one page of apps.
    assert asked
    assert all(query.get("limit") == [str(PAGE)] for query in asked), asked
