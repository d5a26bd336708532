"""The class teacher's school day: 晨午检 of each class in each slot (present, absent, the
students with a fever by name, each a tap from a sick case) and the absence register with
each illness absence's cause (病因追查)."""

from collections.abc import Callable
from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, field, heading, labelled, reading, searchable
from shared.schemas.vocabulary import AbsenceKind, SymptomCategory

KINDS = tuple(k.value for k in AbsenceKind)
SYMPTOMS = tuple(s.value for s in SymptomCategory)
YES_NO = ("yes", "no")
Input = ft.Dropdown | ft.TextField


def _options(state: AppState, prefix: str, values: tuple[str, ...]) -> list[ft.DropdownOption]:
    return [ft.DropdownOption(key=v, text=state.text(f"{prefix}.{v}")) for v in values]


def _yes_no(value: Any) -> str | None:
    return {True: "yes", False: "no"}.get(value)


def _as_bool(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def class_day(state: AppState, refresh: Refresh, view: dict[str, str]) -> ft.Control:
    rows: list[ft.Control] = [heading(state.text("ui.todays_checks"), "class-day")]
    rows += _checks_made(state, refresh)
    rows += [_check_form(state, refresh, view), ft.Divider()]
    rows += [heading(state.text("ui.absences")), *_absences(state, refresh)]
    rows.append(_absence_form(state, refresh))
    return ft.Column(
        rows,
        scroll=ft.ScrollMode.AUTO,
        key="teacher-day",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _open_case_for(
    state: AppState, refresh: Refresh, student_id: str, symptom: str, absence_id: str | None
) -> Callable[[Any], None]:
    def open_(_event: object) -> None:
        state.open_case(
            student_id,
            state.today(),
            state.text(f"symptom.{symptom}"),
            symptom=symptom,
            absence_id=absence_id,
        )
        refresh()

    return open_


def _checks_made(state: AppState, refresh: Refresh) -> list[ft.Control]:
    checks = state.todays_checks()
    if not checks:
        return [ft.Text(state.text("ui.closed_today"), key="checks-closed")]
    open_cases = {s["student_id"] for s in state.sick_list()}
    rows: list[ft.Control] = []
    for n, check in enumerate(checks):
        slot = state.text(f"slot.{check['slot']}")
        if not check["done"]:
            rows.append(
                ft.Text(
                    f"{check['class']} · {slot}: {state.text('ui.check_missing')}",
                    color=ft.Colors.RED_700,
                    key=f"check-row-{n}",
                )
            )
            continue
        rows.append(
            ft.Text(
                f"{check['class']} · {slot}: "
                + state.text("ui.check_done").format(
                    present=check["present"],
                    absent=check["absent"],
                    fever=check["fever"],
                    when=check["when"],
                ),
                key=f"check-row-{n}",
            )
        )
        for student_id, name in check["feverish"]:
            if student_id in open_cases:
                rows.append(ft.Text(f"  {name} · {state.text('ui.case_open')}", size=13))
                continue
            rows.append(
                ft.Row(
                    [
                        ft.Text(f"  {name}", expand=True),
                        ft.TextButton(
                            content=state.text("ui.open_case_for"),
                            on_click=_open_case_for(state, refresh, student_id, "fever", None),
                            key=f"fever-case-{student_id}",
                        ),
                    ]
                )
            )
    return rows


def _check_form(state: AppState, refresh: Refresh, view: dict[str, str]) -> ft.Control:
    classes = state.my_classes()
    class_id = view.get("check_class") or (classes[0][0] if classes else "")
    missing = [
        c["slot"] for c in state.todays_checks() if c["class_id"] == class_id and not c["done"]
    ]
    slots = state.check_slots()
    chosen_slot = view.get("check_slot") or (missing[0] if missing else slots[0])

    def remember(name: str) -> Callable[[Any], None]:
        def keep(event: Any) -> None:
            view[name] = str(getattr(event.control, "value", "") or "")
            if name == "check_class":
                view.pop("fever", None)
                view.pop("check_slot", None)
            refresh()

        return keep

    school_class = ft.Dropdown(
        label=state.text("ui.class"),
        options=[ft.DropdownOption(key=cid, text=name) for cid, name in classes],
        value=class_id or None,
        on_select=remember("check_class"),
        key="check-class",
    )
    slot = ft.Dropdown(
        label=state.text("ui.slot"),
        options=_options(state, "slot", slots),
        value=chosen_slot,
        on_select=remember("check_slot"),
        key="check-slot",
    )
    present = field(state.text("ui.present"), "check-present", expand=True)
    absent = field(state.text("ui.absent_count"), "check-absent", value="0", expand=True)
    feverish = [s for s in (view.get("fever") or "").split(",") if s]
    students = dict(state.students_of(class_id)) if class_id else {}
    add_fever = searchable(
        state,
        label=state.text("ui.add_feverish"),
        options=[ft.DropdownOption(key=sid, text=name) for sid, name in students.items()],
        on_select=lambda e: _add_fever(view, e, refresh),
        key="check-fever-student",
    )
    named: list[ft.Control] = []
    for student_id in feverish:

        def drop(_event: object, student_id: str = student_id) -> None:
            view["fever"] = ",".join(s for s in feverish if s != student_id)
            refresh()

        named.append(
            ft.Row(
                [
                    ft.Text(students.get(student_id, "?"), expand=True),
                    ft.IconButton(
                        ft.Icons.CLOSE,
                        tooltip=state.text("ui.remove_name").format(
                            name=students.get(student_id, "")
                        ),
                        on_click=drop,
                        key=f"check-fever-remove-{student_id}",
                    ),
                ]
            )
        )

    def save(_event: object) -> None:
        state.add_class_check(
            school_class.value,
            slot.value,
            reading(present.value, int),
            reading(absent.value, int),
            feverish,
        )
        if state.error is None:
            view.pop("fever", None)
            view.pop("check_slot", None)
        refresh()

    return ft.Column(
        [
            heading(state.text("ui.class_check")),
            labelled(school_class),
            labelled(slot),
            ft.Row([present, absent]),
            labelled(add_fever),
            *named,
            ft.Button(content=state.text("ui.save"), on_click=save, key="check-save"),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _add_fever(view: dict[str, str], event: Any, refresh: Refresh) -> None:
    chosen = str(getattr(event.control, "value", "") or "")
    names = [s for s in (view.get("fever") or "").split(",") if s]
    if chosen and chosen not in names:
        view["fever"] = ",".join([*names, chosen])
    refresh()


def _absences(state: AppState, refresh: Refresh) -> list[ft.Control]:
    rows: list[ft.Control] = []
    open_cases = {s["student_id"] for s in state.sick_list()}
    for absence in state.absences_of():
        absence_id = absence["absence_id"]
        parts = [absence["student"], absence["class"], state.text(f"absence.{absence['kind']}")]
        if absence.get("symptom"):
            parts.append(state.text(f"symptom.{absence['symptom']}"))
        if absence.get("diagnosis"):
            parts.append(str(absence["diagnosis"]))
        if absence["day"] != state.today().isoformat():
            parts.insert(0, str(absence["day"])[5:])
        lines: list[ft.Control] = [ft.Text(" · ".join(parts), key=f"absence-{absence_id}")]
        if absence["cause_missing"]:
            lines.append(
                ft.Text(
                    state.text("ui.cause_overdue" if absence["overdue"] else "ui.cause_missing"),
                    color=ft.Colors.RED_700,
                    key=f"absence-cause-missing-{absence_id}",
                )
            )
            lines.append(_cause_form(state, refresh, absence))
        elif (
            absence["kind"] == "illness"
            and not absence.get("case_id")
            and absence["student_id"] not in open_cases
        ):
            lines.append(
                ft.TextButton(
                    content=state.text("ui.open_case_for"),
                    on_click=_open_case_for(
                        state,
                        refresh,
                        absence["student_id"],
                        absence.get("symptom") or "other",
                        absence_id,
                    ),
                    key=f"absence-case-{absence_id}",
                )
            )
        rows.append(ft.Column(lines, spacing=2))
    return rows or [ft.Text(state.text("ui.no_absences"), key="absences-none")]


def _cause_inputs(
    state: AppState, key: str, absence: dict[str, Any]
) -> list[ft.Dropdown | ft.TextField]:
    return [
        ft.Dropdown(
            label=state.text("ui.symptom"),
            options=_options(state, "symptom", SYMPTOMS),
            value=absence.get("symptom"),
            key=f"{key}-symptom",
        ),
        ft.Dropdown(
            label=state.text("ui.saw_doctor"),
            options=_options(state, "answer", YES_NO),
            value=_yes_no(absence.get("saw_doctor")),
            key=f"{key}-doctor",
        ),
        field(state.text("ui.diagnosis"), f"{key}-diagnosis", value=absence.get("diagnosis", "")),
        ft.Dropdown(
            label=state.text("ui.infectious"),
            options=_options(state, "answer", YES_NO),
            value=_yes_no(absence.get("infectious")),
            key=f"{key}-infectious",
        ),
    ]


def _shown(inputs: list[Input]) -> list[ft.Control]:
    return [labelled(i) if isinstance(i, ft.Dropdown) else i for i in inputs]


def _cause_form(state: AppState, refresh: Refresh, absence: dict[str, Any]) -> ft.Control:
    absence_id = absence["absence_id"]
    symptom, doctor, diagnosis, infectious = _cause_inputs(state, f"cause-{absence_id}", absence)

    def save(_event: object) -> None:
        state.record_absence(
            None,
            "illness",
            symptom.value,
            _as_bool(doctor.value),
            diagnosis.value or "",
            _as_bool(infectious.value),
            str(absence.get("note", "")),
            absence_id=absence_id,
        )
        refresh()

    return ft.Column(
        [
            *_shown([symptom, doctor, diagnosis, infectious]),
            ft.Button(
                content=state.text("ui.save_cause"), on_click=save, key=f"cause-save-{absence_id}"
            ),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _absence_form(state: AppState, refresh: Refresh) -> ft.Control:
    student = searchable(
        state,
        label=state.text("ui.student"),
        options=[
            ft.DropdownOption(key=sid, text=f"{name} · {class_name}")
            for class_id, class_name in state.my_classes()
            for sid, name in state.students_of(class_id)
        ],
        key="absence-student",
    )
    kind = ft.Dropdown(
        label=state.text("ui.absence_kind"),
        options=_options(state, "absence", KINDS),
        value="illness",
        key="absence-kind",
    )
    symptom, doctor, diagnosis, infectious = _cause_inputs(state, "absence", {})
    note = field(state.text("ui.note"), "absence-note")

    def save(_event: object) -> None:
        state.record_absence(
            student.value,
            kind.value,
            symptom.value,
            _as_bool(doctor.value),
            diagnosis.value or "",
            _as_bool(infectious.value),
            note.value or "",
        )
        refresh()

    return ft.Column(
        [
            heading(state.text("ui.new_absence")),
            labelled(student),
            labelled(kind),
            *_shown([symptom, doctor, diagnosis, infectious]),
            note,
            ft.Button(content=state.text("ui.save"), on_click=save, key="absence-save"),
        ],
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )
