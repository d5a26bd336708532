"""The counselor's screens driven as a counselor does: opening a case without a referral,
accepting and declining referrals, closing a case after a confirmation, the line of what is
due today, the crisis banner (counselors only), and the lead's crisis holders."""

from datetime import timedelta
from typing import Any

import flet as ft
from fastapi import FastAPI
from flet.controls.base_control import BaseControl
from flet.controls.object_patch import ObjectPatch

from client.app_state import AppState
from client.shell import Shell
from shared.schemas.vocabulary import Role
from tests.client.ui_support import (
    SERVER_URL,
    TODAY,
    Event,
    Phones,
    click,
    fields_of,
    find,
    has,
    synced,
    text_of,
    texts,
    type_into,
)
from tests.factories import create_user
from tests.sync_support import School

ONE_DAY = timedelta(days=1)


def _shell(phones: Phones, username: str, lang: str = "zh") -> tuple[AppState, Shell]:
    state = phones.sign_in(username, lang)
    return state, Shell(state, SERVER_URL)


def _search(tree: ft.Control, typed: str) -> None:
    type_into(tree, "new-case-search", typed)
    box = find(tree, "new-case-search")
    box.on_change(Event(box))


def test_counselor_opens_a_case_without_a_referral(phones: Phones, school: School) -> None:
    students = school.student_ids[school.class_ids[1]]
    state, shell = _shell(phones, "counselor1")
    tree = shell.build()
    assert text_of(find(tree, "counselor-today")) == "今天没有应联系的个案, 也没有新转介"
    click(tree, "new-case")
    tree = shell.build()
    assert has(tree, "counselor-new-case") and not has(tree, "counselor-caseload")

    _search(tree, "学生1")  # the list filters as one types, in place
    assert {f"pick-{s}" for s in students} <= {
        str(c.key) for c in find(tree, "new-case-found").controls
    }
    _search(tree, "学生12")
    [only] = find(tree, "new-case-found").controls
    assert only.key == f"pick-{students[2]}"
    _search(tree, "没有这个人")
    assert text_of(find(tree, "new-case-nobody")) == "没有找到该学生"
    _search(tree, "学生11")
    click(tree, f"pick-{students[1]}")
    assert text_of(find(tree, "new-case-chosen")) == "学生: 学生11"

    # Saved without a risk level: refused with the reason, the choices kept.
    type_into(tree, "new-case-origin", "parent")
    click(tree, "new-case-save")
    tree = shell.build()
    assert text_of(find(tree, "error-text")) == "请选择风险等级。"
    assert text_of(find(tree, "new-case-chosen")) == "学生: 学生11"
    assert find(tree, "new-case-origin").value == "parent"
    assert state.records_of("counseling_cases") == []

    menu = find(tree, "new-case-next")
    in_two_days = (TODAY + 2 * ONE_DAY).isoformat()
    assert (in_two_days, "2天后 (11-27)") in {(o.key, o.text) for o in menu.options}
    type_into(tree, "new-case-risk", "high")
    type_into(tree, "new-case-next", in_two_days)
    type_into(tree, "new-case-note", "妈妈打电话说孩子不愿上学")
    click(tree, "new-case-save")
    assert state.error is None
    [case] = state.caseload()
    tree = shell.build()  # the new case opens, with the word that it was opened
    assert has(tree, "case-detail") and text_of(find(tree, "notice-text")) == "已建档"
    assert text_of(find(tree, "case-now")) == f"当前: 高 · 下次联系 {in_two_days}"
    assert text_of(find(tree, "case-origin")) == f"{TODAY.isoformat()} 建档 · 家长求助"
    assert text_of(find(tree, "case-note")) == "妈妈打电话说孩子不愿上学"
    fields = fields_of(state, "counseling_cases", case["case_id"])
    assert (fields["origin"], fields["counselor_id"]) == ("parent", state.user_id)

    click(tree, "back")
    tree = shell.build()
    assert not has(tree, "notice-banner")  # said once, of the screen it was said on
    tile = find(tree, f"case-{case['case_id']}")
    assert text_of(tile.subtitle) == f"下次联系 {in_two_days}"


def test_counselor_accepts_at_a_risk_and_declines_with_a_reason(
    phones: Phones, school: School
) -> None:
    class_id = school.class_ids[0]
    teacher, teacher_shell = _shell(phones, "teacher1")
    for n, reason in ((0, "成绩突然下滑"), (1, "和同学冲突")):
        teacher.refer(school.student_ids[class_id][n], reason)
    synced(teacher)
    state, shell = _shell(phones, "counselor1")
    tree = shell.build()
    assert text_of(find(tree, "counselor-today")) == "新转介 2 条"
    first, second = (r["referral_id"] for r in teacher.referrals())
    student_of = {r["referral_id"]: r["student"] for r in teacher.referrals()}

    click(tree, f"accept-{first}")  # no risk chosen: nothing silently "medium"
    tree = shell.build()
    assert text_of(find(tree, "error-text")) == "请选择风险等级。"
    assert state.records_of("counseling_cases") == []
    type_into(tree, f"risk-{first}", "high")
    click(tree, f"accept-{first}")
    tree = shell.build()
    assert text_of(find(tree, "notice-text")) == "已接收转介, 个案已建立"
    assert not has(tree, f"inbox-{first}") and has(tree, "counselor-caseload")
    [case] = state.caseload()
    assert case["risk_level"] == "high"

    click(tree, f"decline-{second}")  # no reason: the teacher would not know why
    tree = shell.build()
    assert text_of(find(tree, "error-text")) == "请填写不接收的原因, 转介老师会看到。"
    reason = "已有校外心理医生在跟进"
    type_into(tree, f"decline-reason-{second}", reason)
    click(tree, f"decline-{second}")
    tree = shell.build()
    assert text_of(find(tree, "notice-text")) == "已不接收, 转介老师会看到原因"
    assert text_of(find(tree, "inbox-empty")) == "无"
    assert text_of(find(tree, "counselor-today")) == "今天没有应联系的个案, 也没有新转介"

    # The accepted case says why the teacher referred.
    click(tree, f"case-{case['case_id']}")
    tree = shell.build()
    reason_shown = f"转介原因: {'成绩突然下滑' if student_of[first] == '学生00' else '和同学冲突'}"
    assert text_of(find(tree, "case-referral-reason")) == reason_shown
    assert text_of(find(tree, "case-origin")) == f"{TODAY.isoformat()} 建档 · 老师转介"

    synced(state, teacher)
    tree = teacher_shell.build()
    said = text_of(find(tree, f"referral-{second}"))
    assert said == f"{student_of[second]} · 未接收: {reason}"
    assert text_of(find(tree, f"referral-{first}")) == f"{student_of[first]} · 已接收"


def test_closing_a_case_asks_first(phones: Phones, school: School, app: FastAPI) -> None:
    student = school.student_ids[school.class_ids[0]][2]
    state, shell = _shell(phones, "counselor1")
    case_id = state.open_counseling_case(student, "walk_in", "medium", TODAY)
    assert case_id is not None
    tree = shell.build()
    assert text_of(find(tree, "counselor-today")) == "今天应联系 1 人"
    click(tree, f"case-{case_id}")
    tree = shell.build()
    type_into(tree, "close-outcome", "情况好转, 学生自己表示不需要再谈")
    click(tree, "close-case")
    tree = shell.build()
    assert text_of(find(tree, "close-confirm")).startswith("确定结案吗?")
    assert find(tree, "close-outcome").value == "情况好转, 学生自己表示不需要再谈"
    click(tree, "close-no")  # changed their mind: still open, the outcome kept
    tree = shell.build()
    assert not has(tree, "close-confirm") and state.caseload() != []
    assert find(tree, "close-outcome").value == "情况好转, 学生自己表示不需要再谈"
    click(tree, "close-case")
    tree = shell.build()
    click(tree, "close-case-yes")
    assert state.error is None
    tree = shell.build()
    assert has(tree, "counselor-caseload") and not has(tree, f"case-{case_id}")
    assert text_of(find(tree, "notice-text")) == "已结案"

    synced(state)
    fields = fields_of(state, "counseling_cases", case_id)
    assert (fields["status"], fields["outcome"]) == ("closed", "情况好转, 学生自己表示不需要再谈")


def test_a_crisis_shows_on_every_counselor_screen_and_no_one_elses(
    phones: Phones, school: School, app: FastAPI
) -> None:
    create_user(app, Role.COUNSELOR, "counselor2", display_name="李老师")
    student = school.student_ids[school.class_ids[0]][0]
    holder = phones.sign_in("counselor2")
    secret = "说过不想活了"
    case_id = holder.open_counseling_case(student, "self", "crisis", TODAY, secret)
    assert case_id is not None
    synced(holder)

    _state, shell = _shell(phones, "counselor1")
    tree = shell.build()
    banner = find(tree, "crisis-banner")
    assert text_of(find(banner, f"crisis-{case_id}")) == "危机个案: 学生00"
    click(tree, "new-case")
    assert has(shell.build(), "crisis-banner")  # on the form too
    click(shell.build(), f"crisis-{case_id}")  # a tap opens the case
    tree = shell.build()
    assert has(tree, "case-detail") and has(tree, "crisis-banner")
    assert text_of(find(tree, "case-note")) == secret
    click(tree, "language")
    tree = shell.build()
    assert text_of(find(tree, f"crisis-{case_id}")) == "Crisis case: 学生00"
    assert text_of(find(tree, "case-now")).startswith("Now: Crisis · next contact ")

    others = {username: _shell(phones, username) for username in ("teacher1", "lead", "cleaner1")}
    for username, (_other, other_shell) in others.items():
        assert not has(other_shell.build(), "crisis-banner"), username
    lead, lead_shell = others["lead"]
    tree = lead_shell.build()
    assert text_of(find(tree, "crisis-holder-0")) == "李老师: 1 个"
    everything = " ".join(texts(tree))
    assert secret not in everything
    assert lead.records_of("counseling_cases") and all(
        "note" not in r.fields for r in lead.records_of("counseling_cases")
    )


def test_a_save_patches_the_page_in_place(phones: Phones, school: School) -> None:
    """The page's tree is patched where it changed, not drawn anew: the list a person has
    scrolled stays where it was after a save (a new tree scrolls back to the top)."""
    student = school.student_ids[school.class_ids[0]][0]
    state, shell = _shell(phones, "counselor1")
    case_id = state.open_counseling_case(student, "self", "low", TODAY)
    assert case_id is not None

    class Page:
        def __init__(self) -> None:
            self.controls: list[Any] = []

        def update(self) -> None:
            pass

    page = Page()
    shell.page = page  # type: ignore[assignment]
    shell.refresh()
    before = page.controls[0]
    click(before, f"case-{case_id}")
    opened = page.controls[0]
    type_into(opened, "intervention-note", "第一次谈话")
    click(opened, "intervention-save")
    after = page.controls[0]
    assert text_of(find(after, "notice-text")) == "干预记录已保存"
    patch, _added, _removed = ObjectPatch.from_diff([opened], [after], control_cls=BaseControl)
    assert all(op["path"] != [0] for op in patch.patch), patch.patch  # the page kept
    assert find(after, "case-detail")._i == find(opened, "case-detail")._i  # its scroll too
