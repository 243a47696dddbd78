"""The web UI's built files (ui/dist) at `/`, with index.html for any other path the SPA routes itself.

Registered after every API route, so /api, /metrics and the probes keep
their own answers; a path under /api that matches no route stays a JSON
404 rather than turning into the UI's page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

# Beside the package in a source checkout: src/gitward/server/ui.py -> <checkout>/ui/dist.
CHECKOUT_DIST = Path(__file__).resolve().parents[3] / "ui" / "dist"
RESERVED = ("api/", "metrics", "healthz", "readyz", "docs", "openapi.json", "redoc")


def default_dist() -> Path | None:
    return CHECKOUT_DIST if (CHECKOUT_DIST / "index.html").is_file() else None


def serve_ui(app: FastAPI, dist: Path) -> None:
    root = dist.resolve()
    index = root / "index.html"

    @app.get("/{path:path}", include_in_schema=False)
    def ui(path: str) -> FileResponse:
        if path.startswith(RESERVED):
            raise HTTPException(404, f"no route /{path}")
        wanted = (root / path).resolve()
        # resolve() above turns "../" into a real path; anything outside dist is not ours to serve.
        if path and wanted.is_relative_to(root) and wanted.is_file():
            # Vite puts a content hash in every asset's name, so those may be cached for good.
            cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
            return FileResponse(wanted, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
