"""The browser that the UI's tests and benchmarks drive: Debian's Chromium, headless and off the network.

Playwright never downloads a browser here; it launches this one
(scripts/os-packages.sh installs it) with these flags. Kept in one place so
the browser tests and bench/server.py measure the same browser.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A laptop screen (width, height): what the UI must stay readable on.
LAPTOP = (1366, 768)
