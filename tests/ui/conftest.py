"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, and the built UI.

Playwright never downloads a browser here: it launches /usr/bin/chromium
(scripts/os-packages.sh installs it), headless, with the flags that keep it
off the network this machine does not have.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright

from gitward.local.chromium import CHROMIUM, FLAGS  # one copy, shared with bench/server.py
from gitward.local.chromium import LAPTOP as SCREEN

# The API server and end-to-end fixtures, shared as they are.
from tests.e2e.conftest import controller, repo  # noqa: F401
from tests.server.conftest import Serve, serve  # noqa: F401

DIST = Path(__file__).resolve().parents[2] / "ui" / "dist"
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts" / "ui"
LAPTOP: ViewportSize = {"width": SCREEN[0], "height": SCREEN[1]}


@pytest.fixture
def dist() -> Path:
    if not (DIST / "index.html").is_file():
        pytest.fail("the UI is not built: run `make ui` (cd ui && npm ci && npm run build)")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make packages` (scripts/os-packages.sh installs chromium)")
    return DIST


@pytest.fixture
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # Playwright gives the browser a new, empty profile of its own (a temporary user data dir).
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def site(serve: Serve, dist: Path, browser: Browser) -> AsyncIterator[tuple[str, Page]]:  # noqa: F811
    """`gitward server` serving the built UI, and a laptop-sized page to open it in."""
    async with serve(ui_dir=dist) as url:
        context = await browser.new_context(viewport=LAPTOP)
        try:
            yield url, await context.new_page()
        finally:
            # Before the server stops: its shutdown waits for every open response, the page's stream too.
            await context.close()
