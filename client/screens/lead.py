"""The prevention lead: today at a glance, conflicts side by side, and setting things up.

Counseling shows as counts by risk level only: the lead's store never holds a note.
"""

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, field, heading, labelled
from shared.schemas.vocabulary import AreaKind

KINDS = tuple(k.value for k in AreaKind)


def dashboard(state: AppState, refresh: Refresh) -> ft.Control:
    data = state.dashboard()
    rows: list[ft.Control] = [heading(state.text("ui.dashboard"), "lead-dashboard")]
    for kind, counts in sorted(data["by_kind"].items()):
        parts = [
            f"{state.text('ui.status.' + s)} {counts[s]}" for s in ("done", "due") if counts.get(s)
        ]
        if counts.get("overdue"):
            parts.append(f"{state.text('ui.overdue')} {counts['overdue']}")
        rows.append(
            ft.Text(f"{state.text('kind.' + kind)}: {' · '.join(parts) or '-'}", key=f"kind-{kind}")
        )
    rows += [ft.Divider(), heading(state.text("ui.overdue_areas"))]
    rows += [ft.Text(name, color=ft.Colors.RED_700) for name in data["overdue"]] or [
        ft.Text(state.text("ui.none"))
    ]
    rows += [ft.Divider(), heading(state.text("ui.open_cases_by_class"))]
    rows += [
        ft.Text(f"{name}: {count}") for name, count in data["open_cases_by_class"].items()
    ] or [ft.Text(state.text("ui.none"))]
    rows += [ft.Divider(), heading(state.text("ui.counseling_by_risk"))]
    rows.append(
        ft.Text(
            " · ".join(
                f"{state.text('risk.' + r)} {n}" for r, n in data["counseling_by_risk"].items()
            ),
            key="counseling-counts",
        )
    )
    rows += [ft.Divider(), conflicts(state, refresh)]
    return ft.Column(rows, scroll=ft.ScrollMode.AUTO, key="lead")


def conflicts(state: AppState, refresh: Refresh) -> ft.Control:
    rows: list[ft.Control] = [heading(state.text("ui.conflicts"), "conflicts")]
    for conflict in state.conflicts():
        conflict_id = conflict["conflict_id"]
        sides: list[ft.Control] = []
        for side in ("winner", "loser"):
            value = conflict[side]

            def keep(_event: object, side: str = side, conflict_id: str = conflict_id) -> None:
                state.settle(conflict_id, side)
                refresh()

            sides.append(
                ft.Container(
                    ft.Column(
                        [
                            ft.Text(str(value.get("value")), size=16),
                            ft.Text(
                                f"{value.get('device')} · {value.get('hlc', '')[:13]}", size=11
                            ),
                            ft.Button(
                                content=state.text("ui.keep_this"),
                                on_click=keep,
                                key=f"keep-{side}-{conflict_id}",
                            ),
                        ]
                    ),
                    padding=8,
                    border=ft.Border.all(1, ft.Colors.GREY_400),
                    border_radius=8,
                    expand=True,
                )
            )
        rows.append(
            ft.Column(
                [ft.Text(f"{conflict['collection']} · {conflict['field']}"), ft.Row(sides)],
                key=f"conflict-{conflict_id}",
            )
        )
    if len(rows) == 1:
        rows.append(ft.Text(state.text("ui.none")))
    return ft.Column(rows)


def manage(state: AppState, refresh: Refresh) -> ft.Control:
    area_name = field(state.text("ui.name"), "area-name")
    kind = ft.Dropdown(
        label=state.text("report.kind"),
        value="classroom",
        options=[ft.DropdownOption(key=k, text=state.text(f"kind.{k}")) for k in KINDS],
        key="area-kind",
    )
    frequency = field(state.text("ui.frequency"), "area-frequency", value="1", width=140)
    templates = [(r.record_id, r.fields["name"]) for r in state.records_of("checklist_templates")]
    template = ft.Dropdown(
        label=state.text("ui.checklist"),
        options=[ft.DropdownOption(key=tid, text=name) for tid, name in templates],
        value=templates[0][0] if templates else None,
        key="area-template",
    )

    def add_area(_event: object) -> None:
        state.add_record(
            "areas",
            {
                "name": area_name.value or "",
                "kind": kind.value or "classroom",
                "frequency_days": int(frequency.value or 1)
                if (frequency.value or "1").isdigit()
                else 0,
                "checklist_template_id": template.value or "",
            },
        )
        refresh()

    class_name = field(state.text("ui.name"), "class-name")

    def add_class(_event: object) -> None:
        state.add_record("classes", {"name": class_name.value or "", "teacher_ids": []})
        refresh()

    student_name = field(state.text("ui.name"), "student-name")
    classes = [(r.record_id, r.fields["name"]) for r in state.records_of("classes")]
    student_class = ft.Dropdown(
        label=state.text("ui.class"),
        options=[ft.DropdownOption(key=c, text=n) for c, n in classes],
        value=classes[0][0] if classes else None,
        key="student-class",
    )

    def add_student(_event: object) -> None:
        state.add_record(
            "students", {"name": student_name.value or "", "class_id": student_class.value or ""}
        )
        refresh()

    return ft.Column(
        [
            heading(state.text("ui.add_area")),
            area_name,
            labelled(kind),
            frequency,
            labelled(template),
            ft.Button(content=state.text("ui.save"), on_click=add_area, key="area-save"),
            ft.Divider(),
            heading(state.text("ui.add_class")),
            class_name,
            ft.Button(content=state.text("ui.save"), on_click=add_class, key="class-save"),
            ft.Divider(),
            heading(state.text("ui.add_student")),
            student_name,
            labelled(student_class),
            ft.Button(content=state.text("ui.save"), on_click=add_student, key="student-save"),
        ],
        scroll=ft.ScrollMode.AUTO,
        key="manage",
    )
