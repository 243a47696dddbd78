"""The built UI at `/`: files as they are, index.html for the SPA's own paths, the API's 404s kept."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from gitward.server.ui import serve_ui


def client(tmp_path: Path) -> TestClient:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<div id=root></div>")
    (dist / "assets" / "index-abc123.js").write_text("console.log('ui')")
    (tmp_path / "secret.txt").write_text("outside dist")
    app = FastAPI()

    @app.get("/api/v1/applications")
    def apps() -> dict[str, list[str]]:
        return {"items": []}

    serve_ui(app, dist)
    return TestClient(app)


def test_assets_are_served_and_cached_for_good(tmp_path: Path) -> None:
    answer = client(tmp_path).get("/assets/index-abc123.js")
    assert answer.status_code == 200
    assert answer.text == "console.log('ui')"
    assert "immutable" in answer.headers["cache-control"]


def test_the_apps_own_paths_get_index_html(tmp_path: Path) -> None:
    http = client(tmp_path)
    for path in ("/", "/applications/gitward/shop", "/login"):
        answer = http.get(path)
        assert answer.status_code == 200, path
        assert answer.text == "<div id=root></div>"
        assert answer.headers["cache-control"] == "no-cache"


def test_api_routes_win_and_unknown_api_paths_stay_404(tmp_path: Path) -> None:
    http = client(tmp_path)
    assert http.get("/api/v1/applications").json() == {"items": []}
    missing = http.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert "root" not in missing.text


def test_no_file_outside_dist_is_served(tmp_path: Path) -> None:
    answer = client(tmp_path).get("/..%2Fsecret.txt")
    assert "outside dist" not in answer.text
