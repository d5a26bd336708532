"""The write history, for the lead: every change the server applied (who, on which device,
when, to which record, which fields and, unless confidential, to what), newest first.

Read from the change log, which no endpoint edits or deletes. A counseling note or outcome
is named as changed, never shown.
"""

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from server.models import ChangeLog, Device
from server.reports.snapshot import SchoolSnapshot
from shared.i18n import t
from shared.schemas.collections import COLLECTIONS

MAX_ROWS = 5000  # a range with more says so: `more` is true, narrow the dates
SHOWN_CHARS = 120


def _name(school: SchoolSnapshot, collection: str, record_id: str, lang: str) -> str:
    """What the record is, in words: an area's or class's name, a round's area and day, a
    student's name for what is about a student."""
    fields = school.live(collection).get(record_id, {})
    if lang == "en" and fields.get("name_en"):
        return str(fields["name_en"])
    if fields.get("name"):
        return str(fields["name"])
    if collection == "disinfection_rounds" and fields:
        area = _name(school, "areas", str(fields.get("area_id")), lang)
        return f"{area} · {fields.get('round_date', '')}"
    if fields.get("student_id"):
        return _name(school, "students", str(fields["student_id"]), lang)
    return record_id[:8]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _changed(collection: str, fields: dict[str, Any], lang: str) -> tuple[str, str]:
    """(the fields' labels, what they became), confidential values left out."""
    spec = COLLECTIONS.get(collection)
    hidden = spec.confidential if spec else frozenset()
    labels, values = [], []
    for key, value in fields.items():
        name = key.partition(".")[0]
        label = t(f"field.{collection}.{name}", lang)
        label = name if label.startswith("field.") else label
        labels.append(label)
        shown = t("report.confidential", lang) if name in hidden else _value(value)
        values.append(f"{label}: {shown}")
    return "、".join(labels) if lang == "zh" else ", ".join(labels), "; ".join(values)


def write_history(
    session: Session, school: SchoolSnapshot, start: date, end: date, lang: str
) -> tuple[list[dict[str, Any]], bool]:
    """The changes received from `start` to `end` (the school's days), newest first, and
    whether there were more than MAX_ROWS."""
    zone = school.calendar.timezone
    since = datetime.combine(start, time.min, zone)
    until = datetime.combine(end + timedelta(days=1), time.min, zone)
    found = list(
        session.exec(
            select(ChangeLog)
            .where(col(ChangeLog.received_at) >= since, col(ChangeLog.received_at) < until)
            .order_by(col(ChangeLog.seq).desc())
            .limit(MAX_ROWS + 1)
        )
    )
    devices = {d.device_id: d.name for d in session.exec(select(Device))}
    rows = []
    for change in found[:MAX_ROWS]:
        labels, values = _changed(change.collection, change.fields, lang)
        device = change.device_id or ""
        rows.append(
            {
                "seq": change.seq,
                "received_at": change.received_at,
                "who": school.name(change.user_id) or "-",
                "device": f"{devices.get(device, '')} ({device})" if device else "-",
                "collection": t(f"collection.{change.collection}", lang),
                "record_id": str(change.record_id),
                "record": _name(school, change.collection, str(change.record_id), lang),
                "fields": labels,
                "values": values,
                "deleted": change.deleted,
            }
        )
    return rows, len(found) > MAX_ROWS
