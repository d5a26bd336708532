"""The school's calendar and rules, set by the lead: weekdays closed every week, holidays,
make-up school days (调休: nothing is due on a closed day), and the health chain's rules.
One synced record: this works offline."""

from datetime import date

import flet as ft

from client.app_state import AppState
from client.screens.widgets import Refresh, date_field, field, heading, reading, value_of
from shared.schemas.vocabulary import CheckSlot

WEEKDAYS = range(7)  # 0 Monday … 6 Sunday


def calendar(state: AppState, refresh: Refresh) -> list[ft.Control]:
    kept = state.school_calendar()
    closed = set(kept["closed_weekdays"])

    def weekday(day: int) -> ft.Control:
        def flip(_event: object) -> None:
            state.set_closed_weekdays(sorted(closed ^ {day}))
            refresh()

        return ft.Checkbox(
            label=state.text(f"ui.weekday.{day}"),
            value=day in closed,
            on_change=flip,
            key=f"closed-weekday-{day}",
        )

    rows: list[ft.Control] = [
        heading(state.text("ui.section.calendar")),
        ft.Text(state.text("ui.calendar_help"), size=12),
        heading(state.text("ui.closed_weekdays")),
        ft.Row([weekday(d) for d in WEEKDAYS], wrap=True),
        ft.Divider(),
        heading(state.text("ui.holidays")),
    ]
    rows += _listed(state, refresh, "closed_days", kept["closed_days"])
    first = date_field(state, state.text("ui.first_day"), "holiday-first", past_only=False)
    last = date_field(state, state.text("ui.last_day"), "holiday-last", past_only=False)
    label = field(
        state.text("ui.what_day"), "holiday-label", hint_text=state.text("ui.holiday_hint")
    )

    def add_holiday(_event: object) -> None:
        state.set_closed_days(value_of(first), value_of(last), label.value or "")
        refresh()

    rows += [
        first,
        last,
        label,
        ft.Button(content=state.text("ui.add_holiday"), on_click=add_holiday, key="holiday-save"),
        ft.Divider(),
        heading(state.text("ui.make_up_days")),
    ]
    rows += _listed(state, refresh, "open_days", kept["open_days"])
    open_day = date_field(state, state.text("ui.date"), "open-day", past_only=False)
    open_label = field(
        state.text("ui.what_day"), "open-day-label", hint_text=state.text("ui.make_up_hint")
    )

    def add_open(_event: object) -> None:
        state.set_open_day(value_of(open_day), open_label.value or "")
        refresh()

    rows += [
        open_day,
        open_label,
        ft.Button(content=state.text("ui.add_make_up_day"), on_click=add_open, key="open-day-save"),
        ft.Divider(),
        *health_rules(state, refresh),
    ]
    return rows


def health_rules(state: AppState, refresh: Refresh) -> list[ft.Control]:
    """The school's rules for the health chain: the 晨午检 slots, when absences make a
    cluster alert, and whether a student's return needs a clearance (复课证明)."""
    rules = state.health_rules()
    slots = {
        slot: ft.Checkbox(
            label=state.text(f"slot.{slot}"),
            value=slot in rules["check_slots"],
            key=f"rule-slot-{slot}",
        )
        for slot in (s.value for s in CheckSlot)
    }
    day_count = field(
        state.text("field.school_settings.cluster_day_count"),
        "rule-day-count",
        value=str(rules["cluster_day_count"]),
    )
    window_count = field(
        state.text("field.school_settings.cluster_window_count"),
        "rule-window-count",
        value=str(rules["cluster_window_count"]),
    )
    window_days = field(
        state.text("field.school_settings.cluster_window_days"),
        "rule-window-days",
        value=str(rules["cluster_window_days"]),
    )
    idle = field(
        state.text("field.school_settings.idle_lock_minutes"),
        "rule-idle-minutes",
        value=str(rules["idle_lock_minutes"]),
    )
    kept = field(
        state.text("field.school_settings.closed_cases_on_phones_days"),
        "rule-kept-days",
        value=str(rules["closed_cases_on_phones_days"]),
    )
    clearance = ft.Switch(
        label=state.text("field.school_settings.clearance_required"),
        value=rules["clearance_required"],
        key="rule-clearance",
    )

    def save(_event: object) -> None:
        state.set_health_rules(
            check_slots=[slot for slot, box in slots.items() if box.value],
            cluster_day_count=reading(day_count.value, int),
            cluster_window_count=reading(window_count.value, int),
            cluster_window_days=reading(window_days.value, int),
            clearance_required=bool(clearance.value),
            idle_lock_minutes=reading(idle.value, int),
            closed_cases_on_phones_days=reading(kept.value, int),
        )
        refresh()

    return [
        heading(state.text("ui.health_rules")),
        ft.Text(state.text("ui.health_rules_help"), size=12),
        ft.Text(state.text("field.school_settings.check_slots")),
        ft.Row(list(slots.values()), wrap=True),
        day_count,
        window_count,
        window_days,
        clearance,
        idle,
        kept,
        ft.Text(state.text("ui.closed_cases_on_phones_help"), size=12),
        ft.Button(content=state.text("ui.save"), on_click=save, key="rules-save"),
    ]


def _listed(state: AppState, refresh: Refresh, kind: str, days: dict[str, str]) -> list[ft.Control]:
    rows: list[ft.Control] = []
    for day, what in days.items():

        def take_back(_event: object, day: str = day) -> None:
            state.take_back_day(kind, date.fromisoformat(day))
            refresh()

        rows.append(
            ft.Row(
                [
                    ft.Text(f"{day} {what}", expand=True),
                    ft.IconButton(
                        ft.Icons.DELETE_OUTLINE,
                        tooltip=state.text("ui.remove_day").format(day=day),
                        on_click=take_back,
                        key=f"{kind}-remove-{day}",
                    ),
                ]
            )
        )
    return rows or [ft.Text(state.text("ui.none"))]
