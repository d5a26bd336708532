import gc

import pytest
from fastapi.testclient import TestClient

from server import main
from server.config import Settings
from server.db import WalCheckpointer


def test_health(client: TestClient, backend: str) -> None:
    assert client.get("/api/v1/health").json() == {"status": "ok", "protocol": "1"}


def test_a_served_process_freezes_what_startup_loaded_and_copies_the_log(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAREROUNDS_DATABASE_URL", str(settings.database_url))
    started: list[bool] = []
    monkeypatch.setattr(WalCheckpointer, "start", lambda self: started.append(self.active))
    app = main.serve_app()
    assert app.state.settings.database_url == settings.database_url
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        app.state.engine.dispose()
    # ... and copies SQLite's log in the background (see test_wal_checkpoints).
    assert started == [str(settings.database_url).startswith("sqlite")]


def test_a_served_process_works_on_as_many_requests_at_once_as_it_has_threads(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # anyio's default is 40 threads; more threads than database connections only wait,
    # and contend for the interpreter (bench.many_devices).
    from anyio import to_thread

    monkeypatch.setenv("CAREROUNDS_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("CAREROUNDS_REQUEST_THREADS", "7")
    app = main.serve_app()
    try:
        with TestClient(app) as client:
            tokens = client.portal.call(lambda: to_thread.current_default_thread_limiter())
            assert tokens.total_tokens == 7
            assert client.get("/api/v1/health").status_code == 200
    finally:
        gc.unfreeze()
        app.state.engine.dispose()
    assert Settings.model_fields["request_threads"].default == 10  # the pool's connections
