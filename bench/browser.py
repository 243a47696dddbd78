"""bench/server.py's browser phase: the web UI's app list in headless Chromium, at the bench's scale.

Each action is timed inside the page (performance.now(), the moment the
rows are in the DOM), beside its baseline fetched directly right before it:
the same API request the page makes for that action, so the ratio says what
the browser and the UI add.

- first page: a new browser context (a first visit: nothing cached), from
  navigation to the first page of rows; baseline: GET the first page.
- next page: "Next" pressed, until the following page's rows are shown;
  baseline: GET that page with the same continue token.
- search: a name typed into the search box, until its results are shown
  (this includes the UI's 250 ms pause for typing); baseline: GET it.
- filter: Health set to Degraded, until its rows are shown; baseline: GET it.

Then the stream at scale: a burst of status changes over the first page and
beyond it, counting what the page asks the API for meanwhile (it should ask
for nothing: it replaces the changed rows in place) and its JS heap.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from gitward.local.chromium import CHROMIUM, FLAGS, LAPTOP

if TYPE_CHECKING:  # the package itself is imported only once the phase knows it is there
    from playwright.async_api import ViewportSize

PAGE = 50  # the UI's page size when the address names none
TOKEN_KEY = "gitward.token"  # noqa: S105 (a storage key, not a secret): where ui/src/api.ts keeps the token (sessionStorage)

# Installed before the UI's own script: a promise that resolves, with performance.now(), when a test
# on the document first holds, checked on every DOM change; and the first page's moment.
WATCH = """
window.__gwWait = (test) => new Promise((resolve) => {
  const observer = new MutationObserver(() => {
    if (test()) { observer.disconnect(); resolve(performance.now()); }
  });
  if (test()) resolve(performance.now());
  else observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
});
window.__gwRows = () => Array.from(document.querySelectorAll("tr[data-app]"), (r) => r.dataset.app);
// Whether the list shows exactly this page: its rows, in order, and its total.
window.__gwShows = (want) => {
  const rows = window.__gwRows();
  const count = document.querySelector("[data-testid=app-count]");
  return rows.length === want.names.length && rows.every((n, i) => n === want.names[i])
    && count !== null && count.textContent.startsWith(`${want.total} `);
};
"""
FIRST = "window.__gwFirst = window.__gwWait(() => window.__gwShows(%s));"
# An action started inside the page, so the clock starts exactly when the user's input happens.
TYPE = """async ([term, want]) => {
  const box = document.querySelector("input[type=search]");
  const started = performance.now();
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(box, term);
  box.dispatchEvent(new Event("input", { bubbles: true }));
  return (await window.__gwWait(() => window.__gwShows(want))) - started;
}"""
SELECT = """async ([label, value, want]) => {
  const box = Array.from(document.querySelectorAll("label")).find((l) => l.textContent.startsWith(label))
    .querySelector("select");
  const started = performance.now();
  Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value").set.call(box, value);
  box.dispatchEvent(new Event("change", { bubbles: true }));
  return (await window.__gwWait(() => window.__gwShows(want))) - started;
}"""
NEXT = """async (want) => {
  const next = Array.from(document.querySelectorAll("nav.pager button"))
    .find((b) => b.textContent.includes("Next"));
  const started = performance.now();
  next.click();
  return (await window.__gwWait(() => window.__gwShows(want))) - started;
}"""

# How many of these apps' rows show OutOfSync.
UPDATED = """(names) => Array.from(document.querySelectorAll("tr[data-app]")).filter((r) =>
  names.includes(r.dataset.app)
  && r.querySelector("[data-testid=sync-status]").textContent.includes("OutOfSync")
).length"""

# When the scripts were in (ms since navigation), and the first list request's start and end.
LIST_TIMING = """() => {
  const all = performance.getEntriesByType("resource");
  const scripts = all.filter((e) => e.initiatorType === "script" || e.name.endsWith(".js"));
  const entry = all.find((e) => e.name.includes("/api/v1/applications?"));
  const loaded = Math.max(0, ...scripts.map((e) => e.responseEnd));
  return entry ? [loaded, entry.startTime, entry.responseEnd] : null;
}"""


def unavailable() -> str | None:
    """Why the browser phase cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing (make packages installs it)"
    return None


@dataclass
class Action:
    label: str
    browser: list[float] = field(default_factory=list)  # seconds
    direct: list[float] = field(default_factory=list)


@dataclass
class Stream:
    changes: int
    on_page: int
    rows_updated: int
    list_requests: int
    heap_before: float
    heap_after: float


@dataclass
class Result:
    actions: list[Action]
    stream: Stream
    list_requests: int
    largest_limit: int


async def fetch(api: httpx.AsyncClient, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = await api.get("/api/v1/applications", params=params)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return elapsed, body


def shown(body: dict[str, Any]) -> dict[str, Any]:
    """What the list must show for this API answer: its rows' names and its total."""
    return {"names": [item["metadata"]["name"] for item in body["items"]], "total": body["total"]}


async def run(
    url: str,
    token: str,
    rounds: int,
    change_status: Callable[[Sequence[str], str], Awaitable[None]],
) -> Result:
    """Every action `rounds` times; `change_status(names, sync)` writes those apps' sync status."""
    from playwright.async_api import async_playwright

    first, following = Action("first page (navigation to rows)"), Action("next page")
    # Where the first page's time goes, from the page's resource timing of its list request.
    download = Action("  of which: page and script downloaded")
    boot = Action("  of which: script run until it asks for the list")
    fetched = Action("  of which: the list request")
    rendered = Action("  of which: answer to rows in the DOM")
    search, degraded = Action("search (incl. the 250 ms typing pause)"), Action("filter (health=Degraded)")
    asked: list[dict[str, list[str]]] = []

    def hear(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.path == "/api/v1/applications":
            asked.append(parse_qs(parts.query))

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, trust_env=False, timeout=60) as api,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        viewport: ViewportSize = {"width": LAPTOP[0], "height": LAPTOP[1]}

        async def visit() -> Any:
            context = await browser.new_context(viewport=viewport)
            await context.add_init_script(f"sessionStorage.setItem({TOKEN_KEY!r}, {token!r});")
            await context.add_init_script(WATCH)
            return context

        for _ in range(rounds):
            took, body = await fetch(api, {"limit": PAGE})
            first.direct.append(took)
            context = await visit()
            await context.add_init_script(FIRST % json.dumps(shown(body)))
            page = await context.new_page()
            await page.goto(url)
            rows = await page.evaluate("window.__gwFirst")
            first.browser.append(rows / 1000)
            request = await page.evaluate(LIST_TIMING)
            if request:
                loaded, asked_at, answered = request
                download.browser.append(loaded / 1000)
                boot.browser.append((asked_at - loaded) / 1000)
                fetched.browser.append((answered - asked_at) / 1000)
                rendered.browser.append((rows - answered) / 1000)
            await context.close()

        context = await visit()
        page = await context.new_page()
        page.on("request", hear)
        await page.goto(url)
        _, body = await fetch(api, {"limit": PAGE})
        await page.wait_for_function(f"window.__gwShows({json.dumps(shown(body))})")
        apps = int(body["total"])
        cdp = await context.new_cdp_session(page)
        await cdp.send("Performance.enable")

        async def heap() -> float:
            await cdp.send("HeapProfiler.collectGarbage")
            metrics = (await cdp.send("Performance.getMetrics"))["metrics"]
            return float(next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize"))

        for _ in range(rounds):
            if not body["continue"]:
                break
            took, body = await fetch(api, {"limit": PAGE, "continue": body["continue"]})
            following.direct.append(took)
            following.browser.append(await page.evaluate(NEXT, shown(body)) / 1000)

        for r in range(rounds):
            # app-NNNN matches the ten apps app-NNNN0 to app-NNNN9; another ten each round.
            term = f"app-{(123 + 37 * r) % max(1, apps // 10):04d}"
            took, body = await fetch(api, {"limit": PAGE, "search": term})
            search.direct.append(took)
            search.browser.append(await page.evaluate(TYPE, [term, shown(body)]) / 1000)
        _, body = await fetch(api, {"limit": PAGE})
        await page.evaluate(TYPE, ["", shown(body)])  # back to every app, untimed

        for _ in range(rounds):
            took, body = await fetch(api, {"limit": PAGE, "health": "Degraded"})
            degraded.direct.append(took)
            degraded.browser.append(await page.evaluate(SELECT, ["Health", "Degraded", shown(body)]) / 1000)
            _, body = await fetch(api, {"limit": PAGE})
            await page.evaluate(SELECT, ["Health", "", shown(body)])  # untimed

        stream = await burst(page, heap, asked, shown(body)["names"], min(1000, apps), change_status)
        await context.close()
        await browser.close()
    limits = [int(q.get("limit", ["0"])[0]) for q in asked]
    actions = [first, download, boot, fetched, rendered, following, search, degraded]
    return Result(actions, stream, len(asked), max(limits, default=0))


async def burst(
    page: Any,
    heap: Callable[[], Awaitable[float]],
    asked: list[dict[str, list[str]]],
    on_page: list[str],
    count: int,
    change_status: Callable[[Sequence[str], str], Awaitable[None]],
) -> Stream:
    """`count` status changes (the first page's apps among them), while the first page is open."""
    await page.evaluate("() => new Promise((r) => setTimeout(r, 1000))")  # let earlier reloads settle
    before, heap_before = len(asked), await heap()
    names = [f"app-{i:05d}" for i in range(count)]  # bench/server.py's names
    await change_status(names, "OutOfSync")
    from playwright.async_api import TimeoutError as Late

    with contextlib.suppress(Late):  # reported below as the count of rows updated
        await page.wait_for_function(f"({UPDATED})({on_page!r}) === {len(on_page)}", timeout=60_000)
    updated = int(await page.evaluate(UPDATED, on_page))
    await page.evaluate("() => new Promise((r) => setTimeout(r, 1000))")  # a reload it scheduled, if any
    stream = Stream(len(names), len(on_page), updated, len(asked) - before, heap_before, await heap())
    await change_status(names, "Synced")
    return stream


def report(result: Result, percentile: Callable[[list[float], float], float]) -> None:
    title = f"browser: app list ({PAGE} a page)"
    print(f"\n{title:48} {'p50 ms':>8} {'p95 ms':>8} {'direct p50':>11} {'ratio':>7}")
    for action in result.actions:
        if not action.browser:
            continue
        p50, p95 = percentile(action.browser, 0.5), percentile(action.browser, 0.95)
        if action.direct:
            ratio = statistics.median(action.browser) / statistics.median(action.direct)
            direct = f"{percentile(action.direct, 0.5):11.1f} {ratio:6.1f}x"
        else:
            direct = f"{'-':>11} {'-':>7}"
        print(f"{action.label:48} {p50:8.1f} {p95:8.1f} {direct}")
    s = result.stream
    print(
        f"stream: {s.changes} status changes ({s.on_page} on the page shown): rows updated in place"
        f" {s.rows_updated}/{s.on_page}; list requests it caused {s.list_requests};"
        f" JS heap {s.heap_before / 2**20:.1f} -> {s.heap_after / 2**20:.1f} MiB"
    )
    print(
        f"the page asked for the app list {result.list_requests} times, never for more than"
        f" {result.largest_limit} apps"
    )
