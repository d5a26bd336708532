"""The app itself (the client's browser build, a PWA) served at /app/, beside the API.

Same origin as `/api/`, so the app needs no CORS and its default server is its own origin.
Its service worker keeps the app offline; this side only makes sure that what decides an
update (the page, the worker, the manifest, the precache list) is never taken from a stale
HTTP cache.
"""

import os
from pathlib import Path, PurePosixPath

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from server.errors import ApiError

PREFIX = "/app"
INDEX = "index.html"
# Fetched again (with their ETag) on every visit: a new build shows through these.
ALWAYS_REVALIDATED = frozenset({INDEX, "sw.js", "manifest.webmanifest", "precache.json"})
NO_CACHE = "no-cache"
# Everything else: the service worker holds it offline; an hour of HTTP cache is plenty.
CACHEABLE = "public, max-age=3600"
# Explicit, as the system's mimetypes table varies (Python 3.11 says application/javascript
# and knows neither .webmanifest nor font/ttf).
MEDIA_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".woff2": "font/woff2",
}


def is_built(web_dir: Path) -> bool:
    """Whether `web_dir` holds a build of the app (scripts/build-web.sh makes one)."""
    return (web_dir / INDEX).is_file()


class WebAppFiles(StaticFiles):
    """The build's files; a path that is not a file and has no suffix is one of the app's
    own pages, answered with index.html. Dotfiles and anything above the folder: 404."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        # `path` is normalised: a ".." left in it points above the folder.
        if any(part.startswith(".") for part in PurePosixPath(path).parts):
            raise HTTPException(status_code=404)
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or PurePosixPath(path).suffix:
                raise
        full_path, stat_result = await anyio.to_thread.run_sync(self.lookup_path, INDEX)
        if stat_result is None:
            raise HTTPException(status_code=404)
        return self.file_response(full_path, stat_result, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        name = os.path.basename(full_path)
        headers = {"Cache-Control": NO_CACHE if name in ALWAYS_REVALIDATED else CACHEABLE}
        if name == "sw.js":
            headers["Service-Worker-Allowed"] = f"{PREFIX}/"
        response = FileResponse(
            full_path,
            status_code=status_code,
            headers=headers,
            media_type=MEDIA_TYPES.get(os.path.splitext(name)[1].lower()),
            stat_result=stat_result,
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def _to_app_root(request: Request) -> RedirectResponse:
    # request.url carries the scheme and host the browser used (X-Forwarded-* included).
    return RedirectResponse(request.url.replace(path=f"{PREFIX}/"))


def _not_built() -> None:
    raise ApiError(
        404,
        "app_not_built",
        "The app is not built on this server: run scripts/build-web.sh, then restart it.",
    )


def mount_web_app(app: FastAPI, web_dir: Path) -> None:
    """Serve the build in `web_dir` at /app/, or answer `app_not_built` there if none."""
    if is_built(web_dir):
        app.add_api_route(PREFIX, _to_app_root, methods=["GET", "HEAD"], include_in_schema=False)
        app.mount(PREFIX, WebAppFiles(directory=web_dir), name="web_app")
        return
    for path in (PREFIX, f"{PREFIX}/{{rest:path}}"):
        app.add_api_route(path, _not_built, methods=["GET", "HEAD"], include_in_schema=False)
