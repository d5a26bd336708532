"""The app served at /app/ (server.web_app), from a small stand-in for build/web: files,
media types, cache headers, the index.html fallback, what is never served, and the JSON
answer when there is no build. The real uvicorn (TLS, X-Forwarded-Proto) is in test_cli."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
import starlette.responses
from fastapi import FastAPI
from fastapi.testclient import TestClient

import server
from server.config import Settings
from server.main import create_app

INDEX = b"<!doctype html><title>CareRounds</title><base href='/app/'>"
SECRET = "the-secret-nobody-may-read"
FILES: dict[str, bytes] = {
    "index.html": INDEX,
    "sw.js": b"self.addEventListener('fetch', () => {});",
    "manifest.webmanifest": b'{"name": "CareRounds", "start_url": "/app/"}',
    "precache.json": b'["index.html", "main.dart.js"]',
    "main.dart.js": b"console.log('flutter');",
    "pyodide/pyodide.mjs": b"export const loadPyodide = 1;",
    "pyodide/pyodide.asm.wasm": b"\x00asm\x01\x00\x00\x00",
    "assets/fonts/NotoSansSC-Regular.ttf": b"\x00\x01\x00\x00font",
    "icons/Icon-192.png": b"\x89PNG\r\n\x1a\n",
    ".build-stamp": SECRET.encode(),
    "assets/.hidden": SECRET.encode(),
}


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """A stand-in repository: build/web with a few files, and files above it to protect."""
    build = tmp_path / "build" / "web"
    for name, content in FILES.items():
        (build / name).parent.mkdir(parents=True, exist_ok=True)
        (build / name).write_bytes(content)
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "config.py").write_text(f"PASSWORD = '{SECRET}'\n")
    (tmp_path / "build" / "secret.txt").write_text(SECRET)
    return build


def make_app(tmp_path: Path, web_dir: Path) -> FastAPI:
    # No request here touches the database: a SQLite file that is never created will do.
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", web_dir=web_dir)
    return create_app(settings)


@pytest.fixture
def app(tmp_path: Path, web_dir: Path) -> Iterator[FastAPI]:
    application = make_app(tmp_path, web_dir)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def raw_get(app: FastAPI, raw_path: str) -> tuple[int, bytes]:
    """GET with the path exactly as a client could send it (an HTTP client would remove
    the dot segments first), decoded the way uvicorn decodes it."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 40000),
    }
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client stays connected until the response is complete
            await anyio.sleep_forever()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(status), body


def test_app_root_redirects_then_serves_the_page(client: TestClient) -> None:
    redirect = client.get("/app", follow_redirects=False)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "http://testserver/app/"
    page = client.get("/app/")
    assert page.status_code == 200
    assert page.content == INDEX
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert client.get("/app", follow_redirects=True).content == INDEX


@pytest.mark.parametrize(
    ("name", "media_type", "cache_control"),
    [
        ("index.html", "text/html", "no-cache"),
        ("sw.js", "text/javascript", "no-cache"),
        ("manifest.webmanifest", "application/manifest+json", "no-cache"),
        ("precache.json", "application/json", "no-cache"),
        ("main.dart.js", "text/javascript", "public, max-age=3600"),
        ("pyodide/pyodide.mjs", "text/javascript", "public, max-age=3600"),
        ("pyodide/pyodide.asm.wasm", "application/wasm", "public, max-age=3600"),
        ("assets/fonts/NotoSansSC-Regular.ttf", "font/ttf", "public, max-age=3600"),
        ("icons/Icon-192.png", "image/png", "public, max-age=3600"),
    ],
)
def test_files_with_their_media_type_and_cache_header(
    client: TestClient, name: str, media_type: str, cache_control: str
) -> None:
    response = client.get(f"/app/{name}")
    assert response.status_code == 200, response.text
    assert response.content == FILES[name]
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["cache-control"] == cache_control
    assert ("service-worker-allowed" in response.headers) == (name == "sw.js")
    # HEAD answers the same headers without the body.
    head = client.head(f"/app/{name}")
    assert head.status_code == 200
    assert head.headers["content-type"] == response.headers["content-type"]
    assert head.content == b""


def test_media_types_do_not_depend_on_the_machines_table(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows' registry, or an old /etc/mime.types, says text/plain for .js or nothing for
    .wasm; a module script or WebAssembly served so is refused by the browser."""
    monkeypatch.setattr(starlette.responses, "guess_type", lambda *_a, **_k: ("text/plain", None))
    for name, media_type in (
        ("sw.js", "text/javascript"),
        ("pyodide/pyodide.mjs", "text/javascript"),
        ("pyodide/pyodide.asm.wasm", "application/wasm"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("assets/fonts/NotoSansSC-Regular.ttf", "font/ttf"),
    ):
        assert client.get(f"/app/{name}").headers["content-type"].split(";")[0] == media_type


def test_service_worker_may_control_the_whole_app(client: TestClient) -> None:
    assert client.get("/app/sw.js").headers["service-worker-allowed"] == "/app/"


def test_revalidation_keeps_the_cache_header(client: TestClient) -> None:
    first = client.get("/app/sw.js")
    again = client.get("/app/sw.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.headers["cache-control"] == "no-cache"
    assert again.content == b""


@pytest.mark.parametrize(
    "path", ["/app/areas", "/app/cases/42/follow-ups", "/app/assets", "/app/assets/fonts/"]
)
def test_app_pages_fall_back_to_the_index(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/app/missing.js", "/app/pyodide/nothing.wasm", "/app/assets/fonts/x.ttf"]
)
def test_missing_files_are_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/app/.build-stamp", "/app/%2ebuild-stamp", "/app/assets/.hidden", "/app/.git"]
)
def test_dotfiles_are_not_served(client: TestClient, app: FastAPI, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert raw_get(app, path)[0] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/app/../secret.txt",
        "/app/../../server/config.py",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E/%2E%2E/server/config.py",
        "/app/..%2fsecret.txt",
        "/app/%2e%2e%2f%2e%2e%2fserver%2fconfig.py",
        "/app/assets/../../secret.txt",
        "/app/assets/%2e%2e/%2e%2e/%2e%2e/server/config.py",
        "/app/..%5csecret.txt",
        "/app//../secret.txt",
    ],
)
def test_nothing_above_the_build_is_served(app: FastAPI, path: str) -> None:
    status, body = raw_get(app, path)
    assert status == 404, body
    assert SECRET.encode() not in body


def test_traversal_the_way_an_http_client_sends_it(client: TestClient) -> None:
    """httpx sends percent-encoded dots as they are; the server decodes them."""
    for path in ("/app/%2e%2e/secret.txt", "/app/%2e%2e%2fsecret.txt"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert SECRET not in response.text


def test_inside_paths_with_dots_still_resolve(app: FastAPI) -> None:
    # A ".." that stays inside the folder is harmless, as the normalised path shows.
    status, body = raw_get(app, "/app/assets/../sw.js")
    assert (status, body) == (200, FILES["sw.js"])


def test_the_api_keeps_its_json_errors(client: TestClient) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "protocol": "1"}
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    posted = client.post("/app/index.html", json={})
    assert posted.status_code == 405
    assert posted.json()["error"]["code"] == "method_not_allowed"
    assert client.get("/").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("build", ["absent", "empty"])
def test_without_a_build_app_answers_how_to_make_one(
    tmp_path: Path, build: str, web_dir: Path
) -> None:
    folder = tmp_path / "nothing-here"
    if build == "empty":  # a build that stopped half way has no index.html yet
        folder = web_dir
        (folder / "index.html").unlink()
    application = make_app(tmp_path, folder)
    try:
        with TestClient(application) as client:
            for path in ("/app", "/app/", "/app/areas", "/app/sw.js"):
                response = client.get(path, follow_redirects=False)
                assert response.status_code == 404, path
                error = response.json()["error"]
                assert error["code"] == "app_not_built", path
                assert "scripts/build-web.sh" in error["message"]
            assert client.get("/api/v1/health").status_code == 200
    finally:
        application.state.engine.dispose()


def test_web_dir_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREROUNDS_WEB_DIR", raising=False)
    repo = Path(server.__file__).resolve().parents[1]
    assert Settings().web_dir == repo / "build" / "web"
    monkeypatch.setenv("CAREROUNDS_WEB_DIR", "site/app")
    assert Settings().web_dir == tmp_path.resolve() / "site" / "app"
    monkeypatch.setenv("CAREROUNDS_WEB_DIR", str(tmp_path / "elsewhere"))
    assert Settings().web_dir == tmp_path.resolve() / "elsewhere"
