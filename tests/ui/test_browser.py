"""The web UI in Debian's Chromium against the real stack: cluster, Git server, controller, `gitward server`.

One walk through what a user does: open the list, open an app, see its
tree, sync it and watch the status change without a reload, see a diff of a
new commit, and roll back. Screenshots of the list and the app page go to
test-artefacts/ui/ at a laptop's 1366x768.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from gitward.controller.run import Controller
from gitward.kube import Connection
from gitward.server.auth import Role, create_token
from tests.e2e.support import CONFIG, DEPLOYMENT, application, live, until
from tests.helpers import Cluster
from tests.source.servers import Upstream

pytestmark = pytest.mark.cluster

WAIT = 60_000  # ms: a sync on 2 shared cores can take a while; the checks end as soon as it is seen


def colour(cluster: Cluster, target: str) -> str | None:
    found = live(cluster, "configmap", "settings", target)
    return found["data"]["colour"] if found else None


async def sign_in(page: Page, url: str, token: str) -> None:
    await page.goto(url)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Use token").click()


async def test_list_app_tree_sync_diff_and_rollback_in_the_browser(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    controller: Controller,
    repo: tuple[str, Upstream],
    site: tuple[str, Page],
    artefacts: Path,
) -> None:
    url, upstream = repo
    first = upstream.head()
    target = f"shop-{secrets.token_hex(3)}"
    cluster.kubectl("create", "namespace", target)
    manual = application(namespace, target, url)
    del manual["spec"]["syncPolicy"]  # the user, not automation, syncs from the UI
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manual))
    admin = await create_token(connection, namespace, "ui", Role.admin, ["default"])

    api, page = site
    # Without a token the list says why it is empty rather than showing nothing.
    await page.goto(api)
    await expect(page.get_by_role("alert")).to_contain_text("token", timeout=WAIT)

    await sign_in(page, api, admin)
    row = page.locator("tr[data-app='shop']")
    await expect(row.get_by_test_id("sync-status")).to_have_text("⚠ OutOfSync", timeout=WAIT)
    await expect(page.get_by_test_id("app-count")).to_have_text("1 app")
    # The filters reach the server: a search that matches nothing empties the list.
    await page.get_by_label("Search").fill("no-such-app")
    await expect(page.get_by_text("No application matches these filters.")).to_be_visible(timeout=WAIT)
    await page.get_by_role("button", name="Clear filters").click()
    await expect(row).to_be_visible(timeout=WAIT)
    await page.screenshot(path=str(artefacts / "list.png"))

    await row.get_by_role("link", name="shop").click()
    await expect(page.get_by_role("heading", name="shop")).to_be_visible()
    header = page.locator(".facts")
    await expect(header.get_by_test_id("sync-status")).to_have_text("⚠ OutOfSync", timeout=WAIT)
    # A marker on the window survives only if nothing below reloads the page.
    await page.evaluate("window.__noReload = true")

    await page.get_by_role("button", name="Sync", exact=True).click()
    await page.get_by_role("button", name="Synchronize").click()
    await expect(header.get_by_test_id("sync-status")).to_have_text("✔ Synced", timeout=WAIT)
    await expect(page.get_by_test_id("revision")).to_have_text(first[:8])
    assert colour(cluster, target) == "blue"

    tree = page.get_by_test_id("resource-tree")
    await expect(tree.locator("[data-kind='Deployment']")).to_be_visible(timeout=WAIT)
    await expect(tree.locator("[data-kind='ReplicaSet']")).to_be_visible(timeout=WAIT)
    await expect(tree.locator("[data-kind='Pod']")).to_have_count(2, timeout=WAIT)
    await expect(tree.locator("[data-kind='Deployment']")).to_have_attribute(
        "data-health", "Healthy", timeout=WAIT
    )
    await page.screenshot(path=str(artefacts / "app.png"))

    # A new commit: the header turns OutOfSync by itself, and the diff shows what would change.
    second = upstream.commit({"deploy/config.yaml": CONFIG.format(colour="green")})
    await expect(header.get_by_test_id("sync-status")).to_have_text("⚠ OutOfSync", timeout=WAIT)
    await expect(page.get_by_test_id("revision")).to_have_text(second[:8], timeout=WAIT)
    await tree.locator("[data-kind='ConfigMap']").click()
    diff = page.get_by_test_id("diff-text")
    await expect(diff).to_contain_text("green", timeout=WAIT)
    await expect(diff).to_contain_text("blue")
    await page.screenshot(path=str(artefacts / "diff.png"))

    await page.get_by_role("button", name="Sync", exact=True).click()
    await page.get_by_role("button", name="Synchronize").click()
    await expect(header.get_by_test_id("sync-status")).to_have_text("✔ Synced", timeout=WAIT)
    await until(lambda: colour(cluster, target) == "green", what="the second sync")

    await page.get_by_role("tab", name="History").click()
    await expect(page.locator("tr[data-history]")).to_have_count(2, timeout=WAIT)
    older = page.locator("tr[data-history]").nth(1)
    await older.get_by_role("button", name="Roll back").click()
    await older.get_by_role("button", name="Confirm rollback").click()
    await expect(page.get_by_text("Automation paused: rollback to history 0")).to_be_visible(timeout=WAIT)
    await until(lambda: colour(cluster, target) == "blue", what="the rollback to the first revision")
    await expect(page.get_by_test_id("operation-phase")).to_have_text("Succeeded", timeout=WAIT)
    # The rollback is a deployment of its own: a third entry, of the first revision, now the deployed one.
    await expect(page.locator("tr[data-history]")).to_have_count(3, timeout=WAIT)
    newest = page.locator("tr[data-history]").first
    await expect(newest).to_contain_text(first[:8])
    await expect(newest).to_contain_text("deployed")
    await expect(page.get_by_test_id("deployed-revision")).to_have_text(f"deployed {first[:8]}")
    await page.screenshot(path=str(artefacts / "rollback.png"))

    assert await page.evaluate("window.__noReload") is True


async def test_paging_keyboard_and_a_malformed_commit_shown_with_file_and_line(
    cluster: Cluster,
    namespace: str,
    connection: Connection,
    controller: Controller,
    repo: tuple[str, Upstream],
    site: tuple[str, Page],
    artefacts: Path,
) -> None:
    url, upstream = repo
    good = upstream.head()
    targets = {name: f"{name}-{secrets.token_hex(3)}" for name in ("alpha", "beta", "shop")}
    for name, target in targets.items():
        cluster.kubectl("create", "namespace", target)
        app = application(namespace, target, url, name=name)
        if name != "shop":
            del app["spec"]["syncPolicy"]
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(app))
    reader = await create_token(connection, namespace, "viewer", Role.read_only, ["default"])

    api, page = site
    # Two apps a page: the server cuts the pages, the UI walks them both ways.
    await sign_in(page, f"{api}/?limit=2", reader)
    rows = page.locator("tr[data-app]")
    await expect(rows).to_have_count(2, timeout=WAIT)
    await expect(page.get_by_test_id("app-count")).to_have_text("3 apps")
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.app)") == ["alpha", "beta"]
    await page.get_by_role("button", name="Next →").click()
    await expect(rows).to_have_count(1, timeout=WAIT)
    await expect(page.locator("tr[data-app='shop']")).to_be_visible()
    await expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    await page.get_by_role("button", name="← Previous").click()
    await expect(page.locator("tr[data-app='alpha']")).to_be_visible(timeout=WAIT)
    await page.get_by_label("Namespace").fill(targets["beta"])
    await expect(rows).to_have_count(1, timeout=WAIT)
    await expect(page.locator("tr[data-app='beta']")).to_be_visible()
    await page.get_by_label("Cluster").fill("https://elsewhere.example")
    await expect(page.get_by_text("No application matches these filters.")).to_be_visible(timeout=WAIT)
    await page.get_by_role("button", name="Clear filters").click()
    await expect(rows).to_have_count(2, timeout=WAIT)

    # Keyboard only: the sync filter, then the app's link followed with Enter.
    await page.get_by_label("Sync").select_option("Synced")
    shop = page.get_by_role("link", name="shop", exact=True)
    await expect(shop).to_be_visible(timeout=WAIT)
    await expect(rows).to_have_count(1)
    await shop.focus()
    await page.keyboard.press("Enter")
    header = page.locator(".facts")
    await expect(header.get_by_test_id("sync-status")).to_have_text("✔ Synced", timeout=WAIT)
    await expect(page.get_by_test_id("revision")).to_have_text(good[:8])

    # A read-only token sees the app but may not sync it: the API's refusal is shown as it is.
    await page.get_by_role("button", name="Sync", exact=True).click()
    await page.get_by_role("button", name="Synchronize").click()
    options = page.get_by_role("form", name="Sync options")
    await expect(options.get_by_role("alert")).to_contain_text("may not change apps", timeout=WAIT)
    await page.keyboard.press("Escape")
    await expect(options).to_be_hidden()
    await expect(page.get_by_role("button", name="Sync", exact=True)).to_be_focused()

    # A malformed commit: the condition names file and line as soon as the controller sets it.
    upstream.commit({"deploy/web.yaml": DEPLOYMENT.format(replicas=5) + "  broken: [\n"})
    problem = page.locator("[data-condition='ComparisonError']")
    await expect(problem).to_contain_text("deploy/web.yaml:", timeout=WAIT)
    await page.screenshot(path=str(artefacts / "malformed.png"))
    await page.get_by_role("tab", name="Diff").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("tabpanel").get_by_role("alert")).to_contain_text(
        "deploy/web.yaml:", timeout=WAIT
    )
    await page.get_by_role("tab", name="Events").click()
    await expect(page.locator("table.events")).to_contain_text("ComparisonError", timeout=WAIT)
    # The last good revision keeps running.
    assert (live(cluster, "deployment", "web", targets["shop"]) or {})["spec"]["replicas"] == 2
