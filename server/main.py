"""The FastAPI application factory."""

import gc
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from anyio import to_thread
from fastapi import FastAPI

from server.browser_safety import secure
from server.config import Settings
from server.db import WalCheckpointer, make_engine
from server.errors import BodySizeLimit, install_error_handlers
from server.failures import ContainFailures
from server.openapi import install_openapi
from server.retention import RetentionSweeper
from server.routes import admin, auth, reports
from server.sync import routes as sync
from server.sync.direct import DirectSync
from server.web_app import mount_web_app
from shared.hlc import Clock


@asynccontextmanager
async def _served(app: FastAPI) -> AsyncIterator[None]:
    """What a served process does besides answering requests."""
    # What a server process has loaded once started (modules, schemas, the engine) lives
    # as long as the process: it is moved out of the collector's sight, so that collecting
    # during a push of hundreds of records does not walk it again and again (14 % of push
    # time in the profile). Only for served processes: a test process would keep the
    # objects of every app it ever made.
    gc.collect()
    gc.freeze()
    settings: Settings = app.state.settings
    to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
    checkpoints = WalCheckpointer(app.state.engine)
    checkpoints.start()
    sweeper = RetentionSweeper(
        app.state.engine,
        app.state.clock,
        settings.keep_closed_cases_days,
        timedelta(minutes=settings.retention_sweep_minutes),
    )
    sweeper.start()
    try:
        yield
    finally:
        sweeper.stop()
        checkpoints.stop()


def serve_app() -> FastAPI:
    """The app as `carerounds-server serve` runs it (uvicorn's factory)."""
    return create_app(lifespan=_served)


def create_app(settings: Settings | None = None, lifespan: Any = None) -> FastAPI:
    """Build the app; the database must already be migrated (`carerounds-server migrate`)."""
    settings = settings or Settings()
    app = FastAPI(title="CareRounds sync server", version="1", lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    # One clock per process; its random node keeps stamps unique across processes.
    app.state.clock = Clock(f"server-{secrets.token_hex(4)}")
    install_error_handlers(app)
    install_openapi(app)
    # Innermost: push and pull, answered ahead of FastAPI's router, inside every guard below.
    app.add_middleware(DirectSync, state=app.state)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Outside our routes: it sees every failure (a lost database: 503 with Retry-After).
    app.add_middleware(ContainFailures, retry_after=settings.retry_after_seconds)
    secure(app, settings)  # outermost: a 500 carries the security headers too
    # Routes are matched in this order: the two every phone calls every few seconds first
    # (behind the administration's hundred, matching them cost 9 % of a served request).
    app.include_router(sync.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(reports.router)

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "protocol": "1"}

    # Checked once, here: a build made while the server runs shows after a restart.
    mount_web_app(app, settings.web_dir)
    return app
