"""The lead's areas: the walking order, how often each is due, its checklist, and the
cleaners responsible for it (责任落实到人). Synced records: this works offline."""

from collections import Counter
from typing import Any

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, field, folding, heading, labelled, reading, shown
from shared.schemas.vocabulary import AreaKind

KINDS = tuple(k.value for k in AreaKind)
# Key areas are disinfected daily, other public areas every two days (the school's rule).
EVERY_OTHER_DAY = {AreaKind.PUBLIC_AREA.value}


def areas(state: AppState, refresh: Refresh) -> list[ft.Control]:
    rows: list[ft.Control] = [heading(state.text("ui.section.areas"))]
    templates = {
        r.record_id: state.name_of("checklist_templates", r.record_id)
        for r in state.records_of("checklist_templates")
    }
    ordered = sorted(
        state.records_of("areas"),
        key=lambda a: (a.fields.get("walk_order", 0), a.fields["name"], a.record_id),
    )
    for place, area in enumerate(ordered, 1):
        fields = area.fields
        active = fields.get("active", True)

        def toggle(_event: object, area_id: str = area.record_id, active: bool = active) -> None:
            state.edit_record("areas", area_id, {"active": not active})
            refresh()

        days = fields["frequency_days"]
        every = (
            state.text("ui.daily") if days == 1 else state.text("ui.every_days").format(days=days)
        )
        names = [state.person_name(str(c)) for c in fields.get("cleaner_ids") or []]
        who = (
            state.text("ui.responsible").format(names="、".join(n for n in names if n))
            if any(names)
            else state.text("ui.nobody_responsible")
        )
        rows.append(
            folding(
                title=ft.Text(
                    f"{place}. {state.name_of('areas', area.record_id)}",
                    color=None if active else ft.Colors.GREY_500,
                ),
                subtitle=ft.Text(
                    " · ".join(
                        (
                            state.text("kind." + fields["kind"]),
                            every,
                            templates.get(str(fields["checklist_template_id"]), ""),
                            who,
                        )
                    ),
                    size=12,
                ),
                trailing=ft.Switch(
                    value=active,
                    on_change=toggle,
                    tooltip=state.text("ui.area_in_use" if active else "ui.area_paused"),
                    key=f"area-active-{area.record_id}",
                ),
                controls=_editor(state, refresh, area.record_id, fields, templates),
                key=f"area-row-{area.record_id}",
            )
        )
    return [*rows, ft.Divider(), *_add_form(state, refresh, templates)]


def _add_form(state: AppState, refresh: Refresh, templates: dict[str, str]) -> list[ft.Control]:
    """A new area, last in the walking order. Choosing the kind sets the defaults that go
    with it: how often it is due and the checklist other areas of that kind use."""
    name = field(state.text("ui.name"), "area-name")
    name_en = field(state.text("ui.name_en"), "area-name-en")
    kind = ft.Dropdown(
        label=state.text("report.kind"),
        value=KINDS[0],
        options=[ft.DropdownOption(key=k, text=state.text(f"kind.{k}")) for k in KINDS],
        key="area-kind",
    )
    frequency = field(state.text("ui.frequency"), "area-frequency")
    template = ft.Dropdown(
        label=state.text("ui.checklist"),
        options=[ft.DropdownOption(key=tid, text=name) for tid, name in templates.items()],
        key="area-template",
    )

    def defaults(chosen: str) -> None:
        frequency.value = "2" if chosen in EVERY_OTHER_DAY else "1"
        used = Counter(
            str(a.fields["checklist_template_id"])
            for a in state.records_of("areas")
            if a.fields.get("kind") == chosen
            and str(a.fields["checklist_template_id"]) in templates
        )
        template.value = used.most_common(1)[0][0] if used else next(iter(templates), None)

    def kind_chosen(_event: object) -> None:
        defaults(kind.value or KINDS[0])
        shown(frequency, template)

    kind.on_select = kind_chosen
    defaults(KINDS[0])

    def add(_event: object) -> None:
        state.add_area(
            {
                "name": name.value or "",
                "name_en": (name_en.value or "").strip() or None,
                "kind": kind.value or KINDS[0],
                "frequency_days": reading(frequency.value, int),
                "checklist_template_id": template.value or "",
            }
        )
        refresh()

    return [
        heading(state.text("ui.add_area")),
        name,
        name_en,
        labelled(kind),
        frequency,
        labelled(template),
        ft.Button(content=state.text("ui.save"), on_click=add, key="area-save"),
    ]


def _editor(
    state: AppState,
    refresh: Refresh,
    area_id: str,
    fields: dict[str, Any],
    templates: dict[str, str],
) -> list[ft.Control]:
    """Rename an area, change how often it is due, its checklist, its place in the walking
    order and who is responsible (works offline; the cleaners' names come from the staff
    list last read online)."""
    name = field(state.text("ui.name"), f"area-name-{area_id}", value=fields["name"])
    name_en = field(
        state.text("ui.name_en"), f"area-name-en-{area_id}", value=fields.get("name_en") or ""
    )
    every = field(
        state.text("ui.frequency"),
        f"area-frequency-{area_id}",
        value=str(fields["frequency_days"]),
    )
    template = ft.Dropdown(
        label=state.text("ui.checklist"),
        options=[ft.DropdownOption(key=tid, text=label) for tid, label in templates.items()],
        value=str(fields["checklist_template_id"]),
        key=f"area-template-{area_id}",
    )
    assigned = {str(c) for c in fields.get("cleaner_ids") or []}
    boxes = [
        ft.Checkbox(label=name_, value=cleaner_id in assigned, key=f"area-cleaner-{area_id}-{n}")
        for n, (cleaner_id, name_) in enumerate(state.cleaners())
    ]
    ids = [cleaner_id for cleaner_id, _name in state.cleaners()]

    def save(_event: object) -> None:
        state.edit_record(
            "areas",
            area_id,
            {
                "name": name.value or "",
                "name_en": (name_en.value or "").strip() or None,
                "frequency_days": reading(every.value, int),
                "checklist_template_id": template.value or "",
            },
        )
        if state.error is None and boxes:
            # Someone named before whom this phone does not list (left, or not read yet) stays.
            unknown = [c for c in assigned if c not in ids]
            chosen = [ids[n] for n, box in enumerate(boxes) if box.value]
            state.assign_cleaners(area_id, chosen + unknown)
        refresh()

    def move(step: int) -> Any:
        def go(_event: object) -> None:
            state.move_area(area_id, step)
            refresh()

        return go

    order = ft.Row(
        [
            ft.Text(state.text("ui.walk_order")),
            ft.IconButton(
                ft.Icons.ARROW_UPWARD,
                tooltip=state.text("ui.move_earlier"),
                on_click=move(-1),
                key=f"area-up-{area_id}",
            ),
            ft.IconButton(
                ft.Icons.ARROW_DOWNWARD,
                tooltip=state.text("ui.move_later"),
                on_click=move(1),
                key=f"area-down-{area_id}",
            ),
        ],
        wrap=True,
    )
    cleaners: list[ft.Control] = [ft.Text(state.text("ui.responsible_cleaners"))]
    cleaners += boxes or [ft.Text(state.text("ui.cleaners_online"), size=12)]
    return [
        name,
        name_en,
        every,
        labelled(template),
        *cleaners,
        ft.Button(content=state.text("ui.save"), on_click=save, key=f"area-update-{area_id}"),
        order,
    ]
