"""Seeding the demo school into an empty database, and the logins it prints."""

import uuid
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select, update

from server import accounts, demo_health, demo_history, demo_school, school_setup
from server.models import Record, User
from server.records import RecordWriter
from shared.hlc import Clock
from shared.schemas.vocabulary import Role
from shared.schemas.wire import UserCreate

DEMO_PASSWORD = "carerounds-demo"  # noqa: S105 - the demo's published password
DEMO_ZONE = ZoneInfo("Asia/Shanghai")  # the demo sets no time zone: the school default
ROLE_NAMES = {
    Role.LEAD: "防控负责人 prevention lead",
    Role.CLEANER: "保洁员 cleaner",
    Role.CLASS_TEACHER: "班主任 class teacher",
    Role.COUNSELOR: "心理老师 counselor",
}


def is_empty(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(User)).one() == 0


def seed(session: Session, clock: Clock, today: date | None = None) -> list[User]:
    """Add the demo school's people, areas, checklists, classes and students, a few days
    of rounds before `today` (the school's today when not given), and the health chain of
    those days and `today` (demo_health); commits."""
    today = today or datetime.now(DEMO_ZONE).date()
    people = (
        demo_school.LEAD,
        *demo_school.CLEANERS,
        *demo_school.TEACHERS,
        *demo_school.COUNSELORS,
    )
    users = [
        accounts.create_user(
            session,
            UserCreate(
                username=p.username,
                display_name=p.display_name,
                role=Role(p.role),
                password=DEMO_PASSWORD,
            ),
        )
        for p in people
    ]
    session.flush()
    lead_id = users[0].id
    cleaner_ids = {u.username: u.id for u in users if u.role == Role.CLEANER}
    writer = RecordWriter(session, clock)

    template_ids: dict[str, uuid.UUID] = {}
    for checklist in demo_school.CHECKLISTS:
        items = {
            item.item_id: _checklist_item(item, order) for order, item in enumerate(checklist.items)
        }
        record = school_setup.create(
            writer,
            lead_id,
            "checklist_templates",
            {"name": checklist.name, "name_en": checklist.name_en, "items": items},
        )
        template_ids[checklist.key] = record.record_id

    area_ids: dict[str, uuid.UUID] = {}
    for order, area in enumerate(demo_school.AREAS):
        area_ids[area.name] = school_setup.create(
            writer,
            lead_id,
            "areas",
            {
                "name": area.name,
                "name_en": area.name_en,
                "kind": area.kind,
                "frequency_days": area.frequency_days,
                "checklist_template_id": str(template_ids[area.checklist]),
                "walk_order": (order + 1) * 10,
                "cleaner_ids": [str(cleaner_ids[c]) for c in area.cleaners],
            },
        ).record_id

    teachers = [u for u in users if u.role == Role.CLASS_TEACHER]
    per_class = demo_school.STUDENTS_PER_CLASS
    names = demo_school.student_names(per_class * len(demo_school.CLASSES), seed=2026)
    classes: list[demo_health.DemoClass] = []
    for index, (name, name_en) in enumerate(demo_school.CLASSES):
        # teacher1 has classes 1 and 2, teacher2 classes 3 and 4, and so on.
        teacher = teachers[index // 2]
        school_class = school_setup.create(
            writer,
            lead_id,
            "classes",
            {"name": name, "name_en": name_en, "teacher_ids": [str(teacher.id)]},
        )
        student_ids = [
            school_setup.create(
                writer,
                lead_id,
                "students",
                {
                    "name": names[index * per_class + number],
                    "class_id": str(school_class.record_id),
                    "student_no": f"2026{index + 1:02d}{number + 1:02d}",
                },
            ).record_id
            for number in range(per_class)
        ]
        classes.append(demo_health.DemoClass(school_class.record_id, teacher.id, student_ids))
    demo_history.seed(writer, cleaner_ids, area_ids, today, DEMO_ZONE)
    demo_health.seed(writer, lead_id, classes, today, DEMO_ZONE)
    writer.finish()
    # The school was set up the day its history begins: the reports count what was due
    # from the day an area was set up, so this lets them show the days missed.
    set_up = datetime.combine(demo_history.set_up_day(today), time(0), DEMO_ZONE)
    session.execute(
        update(Record)
        .where(col(Record.collection).in_(school_setup.SETUP_COLLECTIONS))
        .values(created_at=set_up)
    )
    session.commit()
    return users


def logins_table(users: list[User]) -> str:
    """The demo logins as a small table to print."""
    width = max(len(u.username) for u in users)
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD})"]
    lines += [
        f"  {u.username.ljust(width)}  {u.display_name}  {ROLE_NAMES[Role(u.role)]}" for u in users
    ]
    return "\n".join(lines)


def _checklist_item(item: demo_school.DemoChecklistItem, order: int) -> dict[str, Any]:
    entry: dict[str, Any] = {"zh": item.zh, "en": item.en, "order": order}
    if item.dosage is not None:
        name, concentration, unit = demo_school.DOSAGES[item.dosage]
        entry["dosage"] = {"disinfectant": name, "concentration": concentration, "unit": unit}
    if item.reading is not None:
        unit, low, high = demo_school.READINGS[item.reading]
        entry["reading"] = {"unit": unit, "low": low, "high": high}
    return entry
