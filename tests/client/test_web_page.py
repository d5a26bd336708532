"""The web client's page life: a closed tab leaves nothing unlocked behind."""

import asyncio
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import flet as ft
from fastapi.testclient import TestClient

from client.accounts import PhoneUsers
from client.app import Device, make_app
from client.shell import Shell
from shared.schemas.vocabulary import Role
from tests.client.test_screens import _open_case_from_the_form
from tests.client.ui_support import (
    SERVER_URL,
    Phones,
    check,
    click,
    find,
    synced,
    texts,
    type_into,
)
from tests.factories import PASSWORD, create_user
from tests.sync_support import AppTransport, School


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
    client: TestClient, tmp_path: Path
) -> None:
    create_user(client.app, Role.CLEANER, "cleaner1")  # type: ignore[arg-type]
    made: list[PhoneUsers] = []

    async def phone_users(_page: ft.Page) -> PhoneUsers:
        made.append(PhoneUsers(tmp_path, lambda _url: AppTransport(client)))
        return made[-1]

    tab = BrowserTab()
    main = make_app(Device(users=phone_users, default_server=SERVER_URL))
    asyncio.run(main(tab))  # type: ignore[arg-type]
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


def test_a_background_sync_keeps_what_is_being_typed(phones: Phones, school: School) -> None:
    """A teacher typing a note while a sync pulls a colleague's change keeps the note; a
    field whose data changed shows the new data; a tap on Save clears the form."""
    teacher = phones.sign_in("teacher1")
    shell = Shell(teacher, SERVER_URL)
    tab = BrowserTab()
    shell.attach(tab)  # type: ignore[arg-type]
    case_id = _open_case_from_the_form(teacher, shell, school.student_ids[school.class_ids[0]][0])
    synced(teacher)
    shell.refresh()
    type_into(tab.controls[0], f"note-{case_id}", "家长说孩子还在咳嗽")
    type_into(tab.controls[0], "refer-reason", "最近很少说话")

    other = phones.sign_in("teacher1")  # the same teacher on a second phone
    other.add_follow_up(case_id, "phone", note="早上已电话联系")
    synced(other)
    teacher.sync_now()
    shell.refresh(keep_typed=True)
    screen = tab.controls[0]
    assert find(screen, f"note-{case_id}").value == "家长说孩子还在咳嗽"
    assert find(screen, "refer-reason").value == "最近很少说话"
    card = " ".join(texts(find(screen, f"case-{case_id}")))
    assert "今日已跟踪" in card and "早上已电话联系" not in card  # notes stay in the case

    click(screen, f"save-follow-up-{case_id}")  # the save redraws: the form is empty
    assert find(tab.controls[0], f"note-{case_id}").value in (None, "")


def test_quick_ticks_all_land_because_a_stored_tick_does_not_redraw(
    phones: Phones, school: School
) -> None:
    """Each redraw replaces the page's controls, and a tap on a control being replaced is
    lost in the browser: four quick ticks lost the fourth. A stored tick leaves the page as
    it is (the sync bar alone is updated); a refused one redraws to show why."""

    cleaner = phones.sign_in("cleaner1")
    shell = Shell(cleaner, SERVER_URL)
    tab = BrowserTab()
    shell.attach(tab)  # type: ignore[arg-type]
    click(tab.controls[0], f"area-{school.area_ids[0]}")
    screen = tab.controls[0]
    for item in ("windows", "desks", "floor"):
        check(screen, f"item-{item}", True)  # on the same controls, no redraw between
        assert tab.controls[0] is screen
    assert "待上传 1 条" in texts(tab.controls[0])  # one round, made and ticked three times
    ticked = {i["item_id"]: i["done"] for i in cleaner.checklist(school.area_ids[0])}
    assert ticked == {"windows": True, "desks": True, "floor": True}

    type_into(screen, "disinfectant-floor", "")
    check(screen, "item-floor", True)  # refused: the page is drawn again, with the reason
    assert tab.controls[0] is not screen
    assert find(tab.controls[0], "error-banner") is not None


class ScrollingTab(BrowserTab):
    """A page that records where the app asks each redrawn screen to scroll to."""

    def __init__(self) -> None:
        super().__init__()
        self.scrolled: list[tuple[Any, float]] = []

    def run_task(self, handler: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        self.scrolled.append((getattr(handler, "__self__", None), kwargs.get("offset", 0.0)))
        task: Future[Any] = Future()
        return task


def test_a_save_redraws_the_screen_where_the_teacher_was(phones: Phones, school: School) -> None:
    """BUG: every save jumped the teacher's long screen back to the top."""
    teacher = phones.sign_in("teacher1")
    shell = Shell(teacher, SERVER_URL)
    tab = ScrollingTab()
    shell.attach(tab)  # type: ignore[arg-type]
    body = find(tab.controls[0], "teacher")
    assert body.on_scroll is not None
    body.on_scroll(type("Scrolled", (), {"pixels": 480.0, "control": body})())
    click(tab.controls[0], "refer-save")  # refused (no student): the page is drawn again
    redrawn = find(tab.controls[0], "teacher")
    assert redrawn is not body
    assert tab.scrolled == [(redrawn, 480.0)]
    # Another screen starts at its own top.
    bar = find(tab.controls[0], "tabs")
    bar.selected_index = 1
    bar.on_change(type("Changed", (), {"control": bar})())
    assert tab.scrolled == [(redrawn, 480.0)]
