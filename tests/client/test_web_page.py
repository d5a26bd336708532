"""The web client's page life: a closed tab leaves nothing unlocked behind."""

from concurrent.futures import Future
from pathlib import Path
from typing import Any

import flet as ft
from fastapi.testclient import TestClient

from client import main as web
from client.accounts import PhoneUsers
from shared.schemas.vocabulary import Role
from tests.client.ui_support import SERVER_URL, click, type_into
from tests.factories import PASSWORD, create_user
from tests.sync_support import AppTransport


class BrowserTab:
    """What `make_app` needs of a Flet page, recorded instead of sent to a browser."""

    def __init__(self) -> None:
        self.controls: list[ft.Control] = []
        self.tasks: list[Future[Any]] = []
        self.on_disconnect: Any = None
        self.on_close: Any = None

    def update(self) -> None:
        pass

    def run_task(self, handler: Any, *args: Any) -> Future[Any]:
        handler(*args).close()  # never started: the test drives the page by hand
        task: Future[Any] = Future()
        self.tasks.append(task)
        return task


def test_closing_the_tab_locks_the_data_and_ends_background_sync(
    client: TestClient, tmp_path: Path, monkeypatch: Any
) -> None:
    create_user(client.app, Role.CLEANER, "cleaner1")  # type: ignore[arg-type]
    made: list[PhoneUsers] = []

    def phone_users(folder: Path, _transport_for: Any, **options: Any) -> PhoneUsers:
        made.append(PhoneUsers(folder, lambda _url: AppTransport(client), **options))
        return made[-1]

    monkeypatch.setattr(web, "PhoneUsers", phone_users)
    tab = BrowserTab()
    web.make_app(SERVER_URL, tmp_path)(tab)  # type: ignore[arg-type]
    screen = tab.controls[0]
    type_into(screen, "sign-in-username", "cleaner1")
    type_into(screen, "sign-in-password", PASSWORD)
    click(screen, "sign-in-submit")
    [users] = made
    assert users.current is not None and not users.current.store.is_locked

    tab.on_disconnect(None)
    assert users.current is None  # the key is forgotten; unlocking needs the password again
    assert not tab.tasks[0].cancelled()
    tab.on_close(None)
    assert tab.tasks[0].cancelled()
