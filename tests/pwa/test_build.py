"""The PWA build (`scripts/build-web.sh` → `pwa/build.py`): what build/web holds, what the
service worker precaches, what the browser's Python gets, and that an unchanged tree is
not built again. One build per session (`web_build`, a no-op while up to date)."""

import hashlib
import json
import re
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PWA = REPO / "pwa"
PRECACHE_LIMIT = 50_000_000
# Kept out of the build and out of the precache list.
NOT_PRECACHED = {"sw.js", "precache.json", ".build-stamp"}
SERVER_ONLY = {
    "httpx",
    "cryptography",
    "orjson",
    "fastapi",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "psycopg",
    "pwdlib",
    "argon2-cffi",
    "fpdf2",
    "openpyxl",
    "pydantic-settings",
}


def requirement_lines() -> list[str]:
    text = (PWA / "requirements.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def precache(web: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((web / "precache.json").read_text(encoding="utf-8"))
    return data


def built_files(web: Path) -> set[str]:
    return {
        path.relative_to(web).as_posix()
        for path in web.rglob("*")
        if path.is_file() and path.name not in NOT_PRECACHED
    }


def test_every_browser_package_is_pinned_exactly() -> None:
    lines = requirement_lines()
    assert lines
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][A-Za-z0-9.]*", line), line
    names = {line.split("==")[0].lower() for line in lines}
    assert {"flet", "pydantic", "pydantic-core", "msgspec", "tzdata", "msgpack"} <= names
    assert not names & SERVER_ONLY


def test_npm_packages_are_pinned_exactly() -> None:
    package = json.loads((PWA / "package.json").read_text(encoding="utf-8"))
    assert package["dependencies"] == {"pyodide": "314.0.7", "hash-wasm": "4.13.0"}
    lock = json.loads((PWA / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/pyodide"]["version"] == "314.0.7"
    assert lock["packages"]["node_modules/hash-wasm"]["version"] == "4.13.0"


def test_the_app_archive_holds_the_client_and_its_packages_only(web_build: Path) -> None:
    with tarfile.open(web_build / "app.tar.gz") as archive:
        names = archive.getnames()
        main = archive.extractfile("main.py")
        assert main is not None
        assert main.read().decode() == "from client.web import main\n\nmain()\n"
    tops = {name.split("/")[0] for name in names}
    # No requirements.txt and no pyproject.toml: the browser runs no micropip install.
    assert tops == {"main.py", "client", "shared", "__pypackages__"}
    assert "client/web.py" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    packages = {name.split("/")[1] for name in names if name.startswith("__pypackages__/")}
    for module in ("flet", "pydantic", "pydantic_core", "msgspec", "msgpack", "tzdata"):
        assert module in packages
    assert not packages & {"httpx", "cryptography", "orjson", "server", "fastapi"}
    wasm = [n for n in names if n.startswith("__pypackages__/pydantic_core/") and ".so" in n]
    assert wasm and all("wasm32-emscripten" in name for name in wasm)


def test_the_staging_folder_has_no_server_and_no_project_file() -> None:
    stage = REPO / "build" / ".web-stage"
    if not stage.exists():
        pytest.skip("no build/.web-stage (a build that ran elsewhere)")
    assert not (stage / "server").exists()
    assert not (stage / "tests").exists()
    assert not (stage / "pyproject.toml").exists()
    assert not (stage / "requirements.txt").exists()
    assert (stage / "assets" / "fonts" / "NotoSansSC.ttf").is_file()


def test_the_page_runs_our_service_worker_and_not_flutters(web_build: Path) -> None:
    html = (web_build / "index.html").read_text(encoding="utf-8")
    assert 'flet.pyodideUrl="./pyodide/pyodide.mjs";' in html
    assert '<base href="/app/">' in html
    assert 'register("sw.js"' in html
    assert "controllerchange" in html
    assert '<link rel="manifest" href="manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#00897B">' in html
    assert 'rel="apple-touch-icon" href="icons/apple-touch-icon.png"' in html
    bootstrap = (web_build / "flutter_bootstrap.js").read_text(encoding="utf-8")
    call = bootstrap[bootstrap.index("_flutter.loader.load({") :]
    assert "serviceWorker" not in call
    assert not (web_build / "flutter_service_worker.js").exists()


def test_the_manifest_makes_the_app_installable(web_build: Path) -> None:
    manifest = json.loads((web_build / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"] == "CareRounds 校园防控"
    assert manifest["short_name"]
    assert manifest["start_url"] == manifest["scope"] == "/app/"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "zh-CN"
    assert manifest["theme_color"] and manifest["background_color"]
    icons = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= icons
    for icon in manifest["icons"]:
        assert (web_build / icon["src"]).is_file()


def test_unused_renderers_and_debug_files_are_gone(web_build: Path) -> None:
    files = built_files(web_build)
    unused = [
        name
        for name in files
        if name.endswith((".symbols", ".map"))
        or "skwasm" in name
        or "wimp" in name
        or name.startswith("main.dart.wasm")
    ]
    assert unused == []
    # What Chromium loads with the canvaskit renderer and no CDN.
    assert {"canvaskit/chromium/canvaskit.js", "canvaskit/chromium/canvaskit.wasm"} <= files
    assert {"main.dart.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm"} <= files
    assert {"fonts/NotoSansSC.ttf", "vendor/hash-wasm.mjs"} <= files


def test_hash_wasm_is_the_es_module_with_scrypt(web_build: Path) -> None:
    module = (web_build / "vendor" / "hash-wasm.mjs").read_text(encoding="utf-8")
    assert re.search(r"\bas scrypt\b", module)
    assert "export{" in module.replace(" ", "")


def test_the_precache_list_is_every_file_and_under_the_limit(web_build: Path) -> None:
    report = precache(web_build)
    listed = {entry["path"]: entry for entry in report["files"]}
    assert set(listed) == built_files(web_build)
    assert [entry["path"] for entry in report["files"]] == sorted(listed)
    for path, entry in listed.items():
        data = (web_build / path).read_bytes()
        assert entry["bytes"] == len(data), path
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()[:16], path
    assert report["count"] == len(listed)
    assert report["total_bytes"] == sum(entry["bytes"] for entry in listed.values())
    # A browser precaches one of the two canvaskit builds (sw.js picks the one it loads).
    for browser, megabytes in report["browser_mb"].items():
        assert megabytes * 1e6 < PRECACHE_LIMIT, (browser, megabytes)
    canvaskits = {p for p in listed if p.endswith("canvaskit.wasm")}
    assert canvaskits == {"canvaskit/canvaskit.wasm", "canvaskit/chromium/canvaskit.wasm"}


def test_the_service_worker_carries_the_list_and_the_build_in_its_cache_name(
    web_build: Path,
) -> None:
    report = precache(web_build)
    worker = (web_build / "sw.js").read_text(encoding="utf-8")
    assert f'const CACHE_NAME = "{report["cache"]}";' in worker
    assert "__PRECACHE__" not in worker and "__CACHE_NAME__" not in worker
    listed = json.loads(re.search(r"const PRECACHE = (\{.*?\});", worker, re.DOTALL)[1])  # type: ignore[index]
    assert listed == {entry["path"]: entry["sha256"] for entry in report["files"]}
    for needed in ("ignoreSearch: true", "ignoreVary: true", "skipWaiting()", "clients.claim()"):
        assert needed in worker
    assert 'request.method !== "GET"' in worker and '"/api/"' in worker


def test_an_unchanged_tree_is_not_built_again(web_build: Path) -> None:
    before = (web_build / "sw.js").stat().st_mtime_ns
    started = time.monotonic()
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "pwa/build.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "build/web is up to date"
    assert elapsed < 5.0
    assert (web_build / "sw.js").stat().st_mtime_ns == before


def test_a_rebuild_of_the_same_tree_gives_the_same_precache(
    web_build: Path, tmp_path: Path
) -> None:
    out = tmp_path / "web"
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "pwa/build.py", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert precache(out) == precache(web_build)
    assert (out / "sw.js").read_bytes() == (web_build / "sw.js").read_bytes()
