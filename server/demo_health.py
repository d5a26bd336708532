"""The demo school's health chain (demo_school.CHECK_TIMES, DEMO_ABSENCES, DEMO_SICK_CASE):
晨午检 on the history days and the seeding day, an absence register, a sick case closed
with its clearance, so that the lead's health report and the day's record have something
to show from the first sign-in. Each record is written as its class teacher would."""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from server import demo_school, school_setup
from server.records import RecordWriter
from shared.schemas.collections import SCHOOL_SETTINGS_ID


@dataclass(frozen=True)
class DemoClass:
    class_id: uuid.UUID
    teacher_id: uuid.UUID
    student_ids: list[uuid.UUID]  # by student number


def seed(
    writer: RecordWriter, lead_id: uuid.UUID, classes: list[DemoClass], today: date, zone: ZoneInfo
) -> None:
    # The school's settings with the default slots spelt out, as a lead would have saved them.
    school_setup.create(
        writer,
        lead_id,
        "school_settings",
        {"check_slots": list(demo_school.CHECK_TIMES)},
        SCHOOL_SETTINGS_ID,
    )
    absent = _absences(writer, classes, today)
    now = datetime.now(zone)
    sick = demo_school.DEMO_SICK_CASE
    for days_ago in range(demo_school.HISTORY_DAYS, -1, -1):
        day = today - timedelta(days=days_ago)
        for index, school_class in enumerate(classes):
            for slot, (hour, minute) in demo_school.CHECK_TIMES.items():
                if days_ago == 0 and slot == "noon" and index == demo_school.NOON_CHECK_MISSING:
                    continue
                fever = []
                if (index, days_ago, slot) == (sick.class_index, sick.onset_days_ago, "morning"):
                    fever = [str(school_class.student_ids[sick.student])]
                missing = absent[index, days_ago]
                # A check of the seeding day is never dated after the moment of seeding.
                at = min(datetime.combine(day, time(hour, minute + index), zone), now)
                fields = {
                    "class_id": str(school_class.class_id),
                    "checked_at": at.isoformat(),
                    "day": day.isoformat(),
                    "slot": slot,
                    "students_checked": len(school_class.student_ids) - missing,
                    "absent": missing,
                    "fever_count": len(fever),
                    "fever_student_ids": fever,
                    "checked_by": str(school_class.teacher_id),
                }
                school_setup.create(writer, school_class.teacher_id, "temperature_checks", fields)


def _absences(
    writer: RecordWriter, classes: list[DemoClass], today: date
) -> Counter[tuple[int, int]]:
    """The sick case and the absence register; how many were absent per (class, days ago)."""
    sick = demo_school.DEMO_SICK_CASE
    school_class = classes[sick.class_index]
    student_id = str(school_class.student_ids[sick.student])
    onset = today - timedelta(days=sick.onset_days_ago)
    returned = today - timedelta(days=sick.returned_days_ago)
    case = school_setup.create(
        writer,
        school_class.teacher_id,
        "sick_cases",
        {
            "student_id": student_id,
            "class_id": str(school_class.class_id),
            "onset_date": onset.isoformat(),
            "opened_on": onset.isoformat(),
            "symptoms": sick.symptoms,
            "symptom": "fever",
            "medical_care": sick.medical_care,
            "status": "closed",
            "returned_on": returned.isoformat(),
            "clearance_by": sick.clearance_by,
            "clearance_on": returned.isoformat(),
        },
    )
    for offset, temperature in enumerate(sick.temperatures):
        school_setup.create(
            writer,
            school_class.teacher_id,
            "follow_ups",
            {
                "case_id": str(case.record_id),
                "visit_date": (onset + timedelta(days=offset)).isoformat(),
                "method": "phone",
                "temperature_c": temperature,
            },
        )
    absent: Counter[tuple[int, int]] = Counter()
    # Off school between the onset and the return, the cause known from the case.
    for days_ago in range(sick.onset_days_ago - 1, sick.returned_days_ago, -1):
        school_setup.create(
            writer,
            school_class.teacher_id,
            "absences",
            {
                "student_id": student_id,
                "class_id": str(school_class.class_id),
                "day": (today - timedelta(days=days_ago)).isoformat(),
                "kind": "illness",
                "symptom": "fever",
                "saw_doctor": True,
                "diagnosis": "急性咽炎",
                "infectious": False,
                "case_id": str(case.record_id),
            },
        )
        absent[sick.class_index, days_ago] += 1
    for entry in demo_school.DEMO_ABSENCES:
        of_class = classes[entry.class_index]
        fields = {
            "student_id": str(of_class.student_ids[entry.student]),
            "class_id": str(of_class.class_id),
            "day": (today - timedelta(days=entry.days_ago)).isoformat(),
            "kind": entry.kind,
            "symptom": entry.symptom,
            "saw_doctor": entry.saw_doctor,
            "diagnosis": entry.diagnosis,
            "infectious": entry.infectious,
            "note": entry.note,
        }
        school_setup.create(writer, of_class.teacher_id, "absences", fields)
        absent[entry.class_index, entry.days_ago] += 1
    return absent
