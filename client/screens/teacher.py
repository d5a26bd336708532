"""The class teacher: what is missing today, sick students (those lacking today's
follow-up first), follow-ups, new cases, closing a case with its return clearance, and
referrals (status only). The class checks and absences are in `class_day`."""

import flet as ft

from client.app_state import AppState
from client.screens.widgets import (
    Refresh,
    big_button,
    date_field,
    field,
    folding,
    heading,
    labelled,
    reading,
    searchable,
    shown,
    value_of,
)
from shared.schemas.vocabulary import FollowUpMethod, Mood

METHODS = tuple(m.value for m in FollowUpMethod)
MOODS = tuple(m.value for m in Mood)


def _options(state: AppState, prefix: str, values: tuple[str, ...]) -> list[ft.DropdownOption]:
    return [ft.DropdownOption(key=v, text=state.text(f"{prefix}.{v}")) for v in values]


def missing_today(state: AppState, go_to_day: Refresh | None = None) -> ft.Control:
    """Nothing missed: what is still to do today, at the top of the first screen."""
    missing = state.teacher_missing()
    parts = [
        state.text(f"ui.missing.{what}").format(count=count)
        for what, count in missing.items()
        if count
    ]
    if not parts:
        return ft.Text(state.text("ui.nothing_missing"), color=ft.Colors.GREEN_700, key="missing")
    line = ft.Text(
        state.text("ui.missing_today") + " " + "; ".join(parts),
        color=ft.Colors.WHITE,
        key="missing",
    )
    return ft.Container(
        line,
        bgcolor=ft.Colors.ORANGE_800,
        padding=10,
        border_radius=8,
        on_click=(lambda _e: go_to_day()) if go_to_day else None,
        key="missing-banner",
    )


def sick_students(
    state: AppState, refresh: Refresh, go_to_day: Refresh | None = None
) -> ft.Control:
    rows: list[ft.Control] = [
        missing_today(state, go_to_day),
        heading(state.text("ui.sick_students"), "teacher-sick"),
    ]
    for sick in state.sick_list():
        status = state.text("ui.needs_follow_up" if sick["needed_today"] else "ui.followed_today")
        if sick["missed"]:
            status += " · " + state.counted("ui.missed_days", sick["missed"]).format(
                count=sick["missed"]
            )
        rows.append(_case_card(state, refresh, sick, status))
    if len(rows) == 2:
        rows.append(ft.Text(state.text("ui.none")))
    rows += [
        ft.Divider(),
        _new_case(state, refresh),
        ft.Divider(),
        _referrals(state, refresh),
    ]
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="teacher",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _case_card(
    state: AppState, refresh: Refresh, sick: dict[str, object], status: str
) -> ft.Control:
    case_id = str(sick["case_id"])
    method = ft.Dropdown(
        label=state.text("ui.method"),
        value="phone",
        options=_options(state, "method", METHODS),
        key=f"method-{case_id}",
    )
    temperature = field(state.text("ui.temperature"), f"temperature-{case_id}")
    condition = field(state.text("ui.condition"), f"condition-{case_id}")
    mood = ft.Dropdown(
        label=state.text("ui.mood"), options=_options(state, "mood", MOODS), key=f"mood-{case_id}"
    )
    note = field(state.text("ui.note"), f"note-{case_id}", multiline=True)
    next_step = field(state.text("ui.next_step"), f"next-step-{case_id}")

    def save(_event: object) -> None:
        state.add_follow_up(
            case_id,
            method.value or "phone",
            temperature_c=reading(temperature.value, float),
            condition=condition.value or "",
            mood=mood.value,
            note=note.value or "",
            next_step=next_step.value or "",
        )
        refresh()

    closing = _closing(state, refresh, case_id)

    urgent = bool(sick["needed_today"])
    return ft.Card(
        ft.Container(
            ft.Column(
                [
                    ft.Text(f"{sick['student']} · {sick['class']}", size=18),
                    ft.Text(
                        status,
                        color=ft.Colors.RED_700 if urgent else ft.Colors.GREEN_700,
                        key=f"case-status-{case_id}",
                    ),
                    ft.Text(str(sick["symptoms"]), size=12),
                    *_history(state, case_id),
                    labelled(method),
                    temperature,
                    condition,
                    labelled(mood),
                    note,
                    next_step,
                    ft.Row(
                        [
                            ft.Button(
                                content=state.text("ui.save"),
                                on_click=save,
                                key=f"save-follow-up-{case_id}",
                            ),
                        ],
                        wrap=True,
                    ),
                    closing,
                ],
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,  # fields span the card
            ),
            padding=12,
        ),
        key=f"case-{case_id}",
    )


def _history(state: AppState, case_id: str, shown: int = 3) -> list[ft.Control]:
    """The latest follow-ups, so the next call starts from what was said last time."""
    lines: list[ft.Control] = []
    for entry in state.follow_ups_of(case_id)[:shown]:
        parts = [str(entry["visit_date"])[5:], state.text(f"method.{entry['method']}")]
        if entry.get("temperature_c") is not None:
            parts.append(f"{entry['temperature_c']}℃")
        if entry.get("mood"):
            parts.append(state.text(f"mood.{entry['mood']}"))
        parts += [str(entry[k]) for k in ("condition", "next_step") if entry.get(k)]
        lines.append(ft.Text(" · ".join(parts), size=12, color=ft.Colors.GREY_700))
    return lines


def _student_options(state: AppState) -> list[ft.DropdownOption]:
    return [
        ft.DropdownOption(key=student_id, text=f"{name} · {class_name}")
        for class_id, class_name in state.my_classes()
        for student_id, name in state.students_of(class_id)
    ]


def _closing(state: AppState, refresh: Refresh, case_id: str) -> ft.Control:
    """The student is back (复课): the day, the clearance (复课证明: who issued it, when) or
    why none was needed; closing asks once more before it is done."""
    back = date_field(state, state.text("ui.returned_on"), f"returned-{case_id}", state.today())
    by = field(state.text("ui.clearance_by"), f"clearance-by-{case_id}")
    on = date_field(state, state.text("ui.clearance_on"), f"clearance-on-{case_id}")
    waived = field(
        state.text("ui.clearance_waived"),
        f"clearance-waived-{case_id}",
        value="" if state.clearance_required() else state.text("ui.clearance_not_asked"),
    )
    sure = ft.Row(visible=False, wrap=True, key=f"close-confirm-row-{case_id}")

    def close(_event: object) -> None:
        state.close_case(case_id, value_of(back), by.value or "", value_of(on), waived.value or "")
        refresh()

    def ask(_event: object) -> None:
        sure.visible = True
        shown(sure)

    def keep(_event: object) -> None:
        sure.visible = False
        shown(sure)

    sure.controls = [
        # No `expand` inside a wrapping row: Flutter cannot lay it out, and draws the whole
        # row as a grey box instead (seen in the browser; the control tree looks fine).
        ft.Text(state.text("ui.close_case_sure")),
        ft.Text(
            state.counted("ui.closed_leaves_phones", state.closed_cases_days()).format(
                days=state.closed_cases_days()
            ),
            size=12,
            key=f"close-leaves-{case_id}",
        ),
        ft.Button(
            content=state.text("ui.yes_close"), on_click=close, key=f"close-confirm-{case_id}"
        ),
        ft.TextButton(
            content=state.text("ui.no_keep"), on_click=keep, key=f"close-cancel-{case_id}"
        ),
    ]
    return folding(
        title=ft.Text(state.text("ui.close_case")),
        controls=[
            back,
            ft.Text(state.text("ui.clearance_help"), size=12),
            by,
            on,
            waived,
            ft.TextButton(
                content=state.text("ui.close_case"), on_click=ask, key=f"close-case-{case_id}"
            ),
            sure,
        ],
        key=f"closing-{case_id}",
    )


def _new_case(state: AppState, refresh: Refresh) -> ft.Control:
    student = searchable(
        state,
        label=state.text("ui.student"),
        options=_student_options(state),
        key="new-case-student",
    )
    symptoms = field(state.text("ui.symptoms"), "new-case-symptoms")
    onset = date_field(state, state.text("ui.onset_date"), "new-case-onset", state.today())

    def save(_event: object) -> None:
        state.open_case(student.value, value_of(onset), symptoms.value or "")
        refresh()

    return ft.Column(
        [
            heading(state.text("ui.new_case")),
            labelled(student),
            onset,
            symptoms,
            big_button(state.text("ui.save"), save, "new-case-save"),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _referrals(state: AppState, refresh: Refresh) -> ft.Control:
    student = searchable(
        state,
        label=state.text("ui.student"),
        options=_student_options(state),
        key="refer-student",
    )
    reason = field(state.text("ui.reason"), "refer-reason", multiline=True)

    def refer(_event: object) -> None:
        state.refer(student.value, reason.value or "")
        refresh()

    rows: list[ft.Control] = [
        heading(state.text("ui.refer")),
        labelled(student),
        reason,
        ft.Button(content=state.text("ui.refer"), on_click=refer, key="refer-save"),
        heading(state.text("ui.referrals")),
    ]
    referrals = state.referrals()
    for referral in referrals:
        rows.append(
            ft.Text(
                f"{referral['student']} · {state.text('status.' + referral['status'])}"
                + (f": {referral['declined_reason']}" if referral["declined_reason"] else ""),
                key=f"referral-{referral['referral_id']}",
            )
        )
    if not referrals:
        rows.append(ft.Text(state.text("ui.none"), key="referrals-none"))
    return ft.Column(rows)
