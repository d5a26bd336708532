"""The prevention lead's setup: areas, checklists, classes, students (synced records, so
this works offline) and staff accounts (on the server, so online only)."""

from collections.abc import Callable
from typing import Any

import flet as ft

from client.app_state import AppState
from client.checklists import checklist_text, dosage_text
from client.screens import lead_areas, school_calendar
from client.screens.widgets import Refresh, field, folding, heading, labelled
from shared.rounds import in_use
from shared.schemas.vocabulary import Role

SECTIONS = ("areas", "checklists", "calendar", "classes", "staff")


def manage(
    state: AppState, refresh: Refresh, section: str, choose: Callable[[str], None]
) -> ft.Control:
    section = section if section in SECTIONS else SECTIONS[0]
    chooser = ft.Row(
        [
            (ft.Button if name == section else ft.TextButton)(
                content=state.text(f"ui.section.{name}"),
                on_click=lambda _e, name=name: choose(name),
                key=f"section-{name}",
            )
            for name in SECTIONS
        ],
        wrap=True,
    )
    body = {
        "areas": lead_areas.areas,
        "checklists": _checklists,
        "calendar": school_calendar.calendar,
        "classes": _classes,
        "staff": _staff,
    }
    return ft.Column(
        [chooser, ft.Divider(), *body[section](state, refresh)],
        scroll=ft.ScrollMode.AUTO,
        key="manage",
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def _checklists(state: AppState, refresh: Refresh) -> list[ft.Control]:
    rows: list[ft.Control] = [heading(state.text("ui.section.checklists"))]
    for template in state.records_of("checklist_templates"):
        items = [item for _key, item in in_use(template.fields["items"])]
        # The wording, and the disinfectant the cleaner records, as the lead types it.
        lines = [
            str((i.get("en") if state.lang == "en" else None) or i["zh"]) + dosage_text(i)
            for i in items
        ]
        rows.append(
            folding(
                title=ft.Text(state.name_of("checklist_templates", template.record_id)),
                subtitle=ft.Text(
                    state.counted("ui.items_count", len(items)).format(count=len(items)), size=12
                ),
                controls=[
                    *(ft.Text(f"{n}. {line}", size=13) for n, line in enumerate(lines, 1)),
                    *_checklist_editor(state, refresh, template.record_id, template.fields),
                ],
                key=f"template-{template.record_id}",
            )
        )
    name = field(state.text("ui.name"), "template-name")
    typed = field(
        state.text("ui.checklist_items"),
        "template-items",
        multiline=True,
        min_lines=4,
        helper=state.text("ui.checklist_items_help"),
    )

    def add_template(_event: object) -> None:
        state.add_checklist(name.value or "", typed.value or "")
        refresh()

    return [
        *rows,
        ft.Divider(),
        heading(state.text("ui.add_checklist")),
        name,
        typed,
        ft.Button(content=state.text("ui.save"), on_click=add_template, key="template-save"),
    ]


def _checklist_editor(
    state: AppState, refresh: Refresh, template_id: str, fields: dict[str, Any]
) -> list[ft.Control]:
    """Rename a checklist and change its items, as lines (works offline)."""
    name = field(state.text("ui.name"), f"template-name-{template_id}", value=fields["name"])
    typed = field(
        state.text("ui.checklist_items"),
        f"template-items-{template_id}",
        value=checklist_text(fields["items"]),
        multiline=True,
        min_lines=4,
        helper=state.text("ui.checklist_items_help"),
    )

    def save(_event: object) -> None:
        state.edit_checklist(template_id, name.value or "", typed.value or "")
        refresh()

    return [
        name,
        typed,
        ft.Button(
            content=state.text("ui.save"), on_click=save, key=f"template-update-{template_id}"
        ),
    ]


def _classes(state: AppState, refresh: Refresh) -> list[ft.Control]:
    rows: list[ft.Control] = [heading(state.text("ui.section.classes"))]
    counts: dict[str, int] = {}
    for student in state.records_of("students"):
        counts[str(student.fields["class_id"])] = counts.get(str(student.fields["class_id"]), 0) + 1
    for class_id, name in sorted(
        ((r.record_id, state.name_of("classes", r.record_id)) for r in state.records_of("classes")),
        key=lambda c: c[1],
    ):
        record = next(r for r in state.records_of("classes") if r.record_id == class_id)
        teachers = ", ".join(
            state.person_name(str(t)) or "?" for t in record.fields.get("teacher_ids", [])
        )
        summary = " · ".join(
            part
            for part in (
                name,
                state.counted("ui.students_count", counts.get(class_id, 0)).format(
                    count=counts.get(class_id, 0)
                ),
                teachers,
            )
            if part
        )
        rows.append(
            folding(
                title=ft.Text(summary, key=f"class-row-{class_id}"),
                controls=_class_editor(state, refresh, class_id, record.fields),
                key=f"class-tile-{class_id}",
            )
        )
    class_name = field(state.text("ui.name"), "class-name")
    teacher_options = _teacher_options(state)
    teacher = ft.Dropdown(
        label=state.text("role.class_teacher"), options=teacher_options, key="class-teacher"
    )

    def add_class(_event: object) -> None:
        state.add_record(
            "classes",
            {
                "name": class_name.value or "",
                "teacher_ids": [teacher.value] if teacher.value else [],
            },
        )
        refresh()

    student_name = field(state.text("ui.name"), "student-name")
    student_no = field(state.text("ui.student_no"), "student-no", width=160)
    classes = [(r.record_id, r.fields["name"]) for r in state.records_of("classes")]
    student_class = ft.Dropdown(
        label=state.text("ui.class"),
        options=[ft.DropdownOption(key=c, text=n) for c, n in classes],
        value=classes[0][0] if classes else None,
        key="student-class",
    )

    def add_student(_event: object) -> None:
        fields: dict[str, Any] = {
            "name": student_name.value or "",
            "class_id": student_class.value or "",
        }
        if (student_no.value or "").strip():
            fields["student_no"] = (student_no.value or "").strip()
        state.add_record("students", fields)
        refresh()

    return [
        *rows,
        ft.Divider(),
        heading(state.text("ui.add_class")),
        class_name,
        labelled(teacher),
        ft.Button(content=state.text("ui.save"), on_click=add_class, key="class-save"),
        ft.Divider(),
        heading(state.text("ui.add_student")),
        student_name,
        student_no,
        labelled(student_class),
        ft.Button(content=state.text("ui.save"), on_click=add_student, key="student-save"),
    ]


def _teacher_options(state: AppState) -> list[ft.DropdownOption]:
    return [
        ft.DropdownOption(key=p["id"], text=p["display_name"])
        for p in state.staff()
        if p["role"] == Role.CLASS_TEACHER.value and p["active"]
    ]


def _class_editor(
    state: AppState, refresh: Refresh, class_id: str, fields: dict[str, Any]
) -> list[ft.Control]:
    """Rename a class or hand it to another teacher (works offline)."""
    name = field(state.text("ui.name"), f"class-name-{class_id}", value=fields["name"])
    name_en = field(
        state.text("ui.name_en"), f"class-name-en-{class_id}", value=fields.get("name_en") or ""
    )
    current = [str(t) for t in fields.get("teacher_ids", [])]
    teacher = ft.Dropdown(
        label=state.text("role.class_teacher"),
        options=_teacher_options(state),
        value=current[0] if current else None,
        key=f"class-teacher-{class_id}",
    )

    def save(_event: object) -> None:
        chosen = teacher.value
        teachers = [chosen, *(t for t in current[1:] if t != chosen)] if chosen else current
        state.edit_record(
            "classes",
            class_id,
            {
                "name": name.value or "",
                "name_en": (name_en.value or "").strip() or None,
                "teacher_ids": teachers,
            },
        )
        refresh()

    return [
        name,
        name_en,
        labelled(teacher),
        ft.Button(content=state.text("ui.save"), on_click=save, key=f"class-update-{class_id}"),
    ]


def _staff(state: AppState, refresh: Refresh) -> list[ft.Control]:
    def reload(_event: object) -> None:
        state.refresh_staff()
        refresh()

    rows: list[ft.Control] = [
        ft.Row(
            [
                heading(state.text("ui.section.staff")),
                ft.IconButton(
                    ft.Icons.REFRESH,
                    tooltip=state.text("ui.refresh"),
                    on_click=reload,
                    key="staff-refresh",
                ),
            ]
        ),
        ft.Text(state.text("ui.staff_online"), size=12),
    ]
    for person in state.staff():
        user_id = person["id"]
        new_password = field(
            state.text("ui.new_password"),
            f"password-{user_id}",
            password=True,
            width=200,
            dense=True,
        )

        def toggle(_event: object, user_id: str = user_id, active: bool = person["active"]) -> None:
            state.update_person(user_id, active=not active)
            refresh()

        def reset(
            _event: object, user_id: str = user_id, typed: ft.TextField = new_password
        ) -> None:
            state.update_person(user_id, password=typed.value or "")
            refresh()

        rows.append(
            folding(
                title=ft.Text(
                    person["display_name"],
                    color=None if person["active"] else ft.Colors.GREY_500,
                ),
                subtitle=ft.Text(
                    f"{person['username']} · {state.text('role.' + person['role'])}"
                    + ("" if person["active"] else f" · {state.text('ui.inactive')}"),
                    size=12,
                ),
                controls=[
                    ft.Row(
                        [
                            new_password,
                            ft.TextButton(
                                content=state.text("ui.set_password"),
                                on_click=reset,
                                key=f"set-password-{user_id}",
                            ),
                        ],
                        wrap=True,
                    ),
                    ft.TextButton(
                        content=state.text(
                            "ui.deactivate" if person["active"] else "ui.reactivate"
                        ),
                        on_click=toggle,
                        key=f"person-active-{user_id}",
                    ),
                ],
                key=f"person-{user_id}",
            )
        )
    username = field(state.text("ui.username"), "person-username")
    display_name = field(state.text("ui.display_name"), "person-name")
    role = ft.Dropdown(
        label=state.text("ui.role"),
        value=Role.CLEANER.value,
        options=[ft.DropdownOption(key=r.value, text=state.text(f"role.{r.value}")) for r in Role],
        key="person-role",
    )
    password = field(state.text("ui.password"), "person-password", password=True)

    def add(_event: object) -> None:
        state.add_person(
            username.value or "", display_name.value or "", role.value or "", password.value or ""
        )
        refresh()

    return [
        *rows,
        ft.Divider(),
        *_devices(state, refresh),
        ft.Divider(),
        heading(state.text("ui.add_person")),
        username,
        display_name,
        labelled(role),
        password,
        ft.Button(content=state.text("ui.save"), on_click=add, key="person-save"),
    ]


def _devices(state: AppState, refresh: Refresh) -> list[ft.Control]:
    """Phones and browsers that signed in; a lost one is blocked here and wipes itself at
    its next contact (online)."""

    def load(_event: object) -> None:
        state.load_devices()
        refresh()

    rows: list[ft.Control] = [
        heading(state.text("ui.devices")),
        ft.TextButton(content=state.text("ui.show_devices"), on_click=load, key="devices-load"),
    ]
    for device in state.known_devices or []:
        device_id = str(device["device_id"])
        owner = state.person_name(str(device.get("user_id"))) or "-"
        seen = state.clock_time(str(device["last_seen"]))

        def revoke(_event: object, device_id: str = device_id) -> None:
            state.revoke_device(device_id)
            refresh()

        status = state.text("ui.device_revoked") if device["revoked"] else ""
        rows.append(
            ft.Column(
                [
                    ft.Text(f"{device['name']} · {owner}", weight=ft.FontWeight.BOLD),
                    ft.Text(
                        f"{state.text('ui.last_seen').format(when=seen)} {status}".strip(), size=12
                    ),
                    ft.TextButton(
                        content=state.text("ui.revoke_device"),
                        on_click=revoke,
                        disabled=bool(device["revoked"]),
                        key=f"device-revoke-{device_id}",
                    ),
                ],
                spacing=2,
                key=f"device-{device_id}",
            )
        )
    return rows
