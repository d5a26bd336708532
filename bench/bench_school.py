"""A school the size of the bench's fleet: one account per device, in the shares a real
school's phones come in.

The demo school has ten accounts; 500 simulated devices signed in as those ten would be 50
prevention leads and 150 cleaners, each receiving every change of their scope, which no
school looks like. Here each device is a person of its own: most are class teachers with
a class of their own (and a few students in it), one in ten a cleaner, one in fifty a
counselor and one in a hundred a lead (at least one of each). They are added to the demo
school (its areas, checklists, classes and people stay) the way the lead would add them:
accounts, then the classes and students through the same checked writes.
"""

from dataclasses import dataclass

from bench.harness import use_cheap_password_hashes
from shared.schemas.vocabulary import Role

STUDENTS_PER_CLASS = 4


@dataclass(frozen=True)
class Person:
    username: str
    role: Role


def roster(devices: int) -> list[Person]:
    """Who signs in on each of `devices` devices, in device order (the roles mixed)."""
    leads = max(1, devices // 100)
    counselors = max(1, devices // 50)
    cleaners = max(1, devices // 10)
    teachers = max(1, devices - leads - counselors - cleaners)
    people = (
        [Person(f"bench-lead-{i:03d}", Role.LEAD) for i in range(leads)]
        + [Person(f"bench-counselor-{i:03d}", Role.COUNSELOR) for i in range(counselors)]
        + [Person(f"bench-cleaner-{i:03d}", Role.CLEANER) for i in range(cleaners)]
        + [Person(f"bench-teacher-{i:03d}", Role.CLASS_TEACHER) for i in range(teachers)]
    )
    # Interleaved, so that any first k devices hold every role in about its share.
    step = len(people)
    order = sorted(range(step), key=lambda i: ((i * 7919) % step, i))
    return [people[i] for i in order][:devices]


def seed_school(database_url: str, people: list[Person]) -> None:
    """Add `people`'s accounts (the demo's password) to the seeded demo school, and a class
    with a few students for each class teacher."""
    use_cheap_password_hashes()  # before the server's modules are imported: they read it
    from sqlmodel import Session, select

    from server import accounts, demo, school_setup
    from server.config import Settings
    from server.db import make_engine
    from server.models import User
    from server.records import RecordWriter
    from shared.hlc import Clock
    from shared.schemas.wire import UserCreate

    engine = make_engine(Settings(database_url=database_url))
    try:
        with Session(engine) as session:
            lead = session.exec(select(User).where(User.role == Role.LEAD)).first()
            assert lead is not None, "seed the demo school first"
            writer = RecordWriter(session, Clock("bench-school"))
            for number, person in enumerate(people):
                user = accounts.create_user(
                    session,
                    UserCreate(
                        username=person.username,
                        display_name=person.username,
                        role=person.role,
                        password=demo.DEMO_PASSWORD,
                    ),
                )
                if person.role is not Role.CLASS_TEACHER:
                    continue
                session.flush()
                school_class = school_setup.create(
                    writer,
                    lead.id,
                    "classes",
                    {"name": f"测试班 {number}", "teacher_ids": [str(user.id)]},
                )
                for student in range(STUDENTS_PER_CLASS):
                    school_setup.create(
                        writer,
                        lead.id,
                        "students",
                        {
                            "name": f"学生 {number}-{student}",
                            "class_id": str(school_class.record_id),
                            "student_no": f"B{number:04d}{student:02d}",
                        },
                    )
            writer.finish()
            session.commit()
    finally:
        engine.dispose()
