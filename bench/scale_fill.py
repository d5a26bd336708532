"""Filling a PostgreSQL database with many records fast, straight into the server's tables.

Used by bench.scale_bench: the demo school is seeded first (through the server's own code),
then `fill` adds records by COPY, as `server.records.RecordWriter` would have written them:
each record with its `fields`, a `field_hlc` per register (`items.<id>` for a map entry), a
`field_meta` per register (`seq`, `by`, `device`), its bucket and scope collection, one
`changes` row per record (its creation, same seq), and the counter moved to the last seq.

What is added (the decision, see docs/benchmarks.md "Cost grows with the scope"):
- the cleaners' own bucket (`disinfection`) gets a fixed `scope` rounds, by cleaner1;
- teacher1's two classes get a fixed `scope` records (晨午检 checks, sick cases and their
  follow-ups, absences);
- everything else is other classes: one class per `PER_CLASS` records, each with 40 students,
  years of 晨午检 checks, sick cases and follow-ups, absences; plus counseling cases and
  interventions, referrals by those classes' teachers, and moves (students that changed
  class) for 1 % of students. One server database holds one school, so 20 schools' worth
  of classes is modelled as a school with 20x the classes and their history.
Seq numbers are dealt out in a random order, so the scopes' records lie spread through the
whole change log and the whole table, as years of history would leave them.
"""

import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson
import psycopg

PER_CLASS = 1_650  # records of one class's years of history (with its 40 students)
STUDENTS = 40
DEVICE = "bench-fill"
START = date(2023, 9, 1)
RECORD_COLUMNS = (
    "collection, record_id, fields, field_hlc, field_meta, deleted, seq, bucket, "
    "scope_collection, created_by, created_at, updated_by, updated_at"
)
CHANGE_COLUMNS = (
    "seq, change_id, collection, record_id, user_id, device_id, hlc, fields, deleted, received_at"
)
MAP_FIELDS = {"items"}


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@dataclass
class Demo:
    """What the fill needs of the seeded demo school."""

    base_seq: int
    users: dict[str, uuid.UUID]
    areas: list[str]
    round_items: dict[str, Any]
    teacher_classes: list[str]  # teacher1's
    students_of: dict[str, list[str]]


@dataclass
class Filled:
    records: int = 0
    moves: int = 0
    seconds: float = 0.0
    last_seq: int = 0
    classes: int = 0
    # 1 % of the records a churn may edit: other classes' checks, and students to move.
    churn_checks: list[tuple[str, str]] = field(default_factory=list)  # (id, bucket)
    churn_students: list[tuple[str, str]] = field(default_factory=list)
    other_buckets: list[str] = field(default_factory=list)
    by_collection: dict[str, int] = field(default_factory=dict)


def read_demo(conn: psycopg.Connection[Any]) -> Demo:
    users = dict(conn.execute("SELECT username, id FROM users"))
    (base,) = conn.execute("SELECT last_seq FROM seq_counter WHERE id = 1").fetchone() or (0,)
    areas = [
        str(r)
        for (r,) in conn.execute(
            "SELECT record_id FROM records WHERE collection = 'areas' AND NOT deleted"
        )
    ]
    row = conn.execute(
        "SELECT fields::text FROM records WHERE collection = 'disinfection_rounds' LIMIT 1"
    ).fetchone()
    items = orjson.loads(row[0])["items"] if row else {}
    teacher = str(users["teacher1"])
    classes = [
        str(r)
        for (r, fields) in conn.execute(
            "SELECT record_id, fields::text FROM records WHERE collection = 'classes'"
        )
        if teacher in orjson.loads(fields).get("teacher_ids", [])
    ]
    students: dict[str, list[str]] = {}
    for record_id, class_id in conn.execute(
        "SELECT record_id, fields->>'class_id' FROM records WHERE collection = 'students'"
    ):
        students.setdefault(str(class_id), []).append(str(record_id))
    return Demo(int(base), users, areas, items, classes, students)


def _day(index: int) -> str:
    return (START + timedelta(days=index % 800)).isoformat()


class _Rows:
    """Record specs, each a function of its seq, dealt seqs in a shuffled order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.specs: list[tuple[str, str, str, str, dict[str, Any]]] = []

    def add(self, collection: str, bucket: str, author: str, fields: dict[str, Any]) -> str:
        record_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        self.specs.append((collection, record_id, bucket, author, fields))
        return record_id


def _check(class_id: str, index: int, author: str) -> dict[str, Any]:
    day = _day(index // 2)
    slot = "morning" if index % 2 == 0 else "noon"
    return {
        "class_id": class_id,
        "checked_at": f"{day}T{'07:47' if slot == 'morning' else '12:40'}:00+08:00",
        "day": day,
        "slot": slot,
        "students_checked": STUDENTS,
        "absent": 0,
        "fever_count": 0,
        "fever_student_ids": [],
        "checked_by": author,
        "note": "",
    }


def _case(class_id: str, student: str, index: int) -> dict[str, Any]:
    day = _day(index)
    return {
        "student_id": student,
        "class_id": class_id,
        "onset_date": day,
        "opened_on": day,
        "symptoms": "晨检体温38.5℃，咽痛",
        "status": "closed",
        "returned_on": day,
        "medical_care": "社区卫生服务中心就诊",
        "clearance_by": "社区卫生服务中心 王医生",
        "clearance_on": day,
        "clearance_waived": "",
        "symptom": "fever",
    }


def _follow_up(case_id: str, index: int) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "visit_date": _day(index),
        "method": "phone",
        "temperature_c": 37.4,
        "condition": "精神好转",
        "mood": "good",
        "note": "",
        "next_step": "",
    }


def _absence(class_id: str, student: str, index: int) -> dict[str, Any]:
    return {
        "student_id": student,
        "class_id": class_id,
        "day": _day(index),
        "kind": "personal",
        "symptom": None,
        "saw_doctor": None,
        "diagnosis": "",
        "infectious": None,
        "case_id": None,
        "note": "家中有事请假",
    }


def _class_history(
    rows: _Rows, class_id: str, bucket: str, students: list[str], author: str, count: int
) -> list[str]:
    """`count` records of one class's history: checks, cases with a follow-up, absences.
    The ids of its checks."""
    checks: list[str] = []
    index = 0
    while count > 0:
        kind = index % 10
        if kind < 7:
            checks.append(
                rows.add("temperature_checks", bucket, author, _check(class_id, index, author))
            )
            count -= 1
        elif kind < 9 and count >= 2:
            student = students[index % len(students)]
            case = rows.add("sick_cases", bucket, author, _case(class_id, student, index))
            rows.add("follow_ups", bucket, author, _follow_up(case, index))
            count -= 2
        else:
            student = students[index % len(students)]
            rows.add("absences", bucket, author, _absence(class_id, student, index))
            count -= 1
        index += 1
    return checks


def plan(demo: Demo, total: int, scope: int, seed: int = 2026) -> tuple[_Rows, Filled]:
    """The records to add so that the database holds about `total`."""
    rng = random.Random(seed)
    rows = _Rows(rng)
    info = Filled()
    cleaner = str(demo.users["cleaner1"])
    teacher = str(demo.users["teacher1"])
    lead = str(demo.users["lead"])
    # The cleaners' bucket: `scope` rounds of cleaner1's.
    for index in range(scope):
        entry_at = f"{_day(index)}T08:33:00+08:00"
        items = {
            key: {**value, "at": entry_at, "note": f"第{index}次"}
            for key, value in demo.round_items.items()
        }
        rows.add(
            "disinfection_rounds",
            "disinfection",
            cleaner,
            {
                "area_id": demo.areas[index % len(demo.areas)],
                "round_date": _day(index),
                "cleaner_id": cleaner,
                "items": items,
                "completed_at": entry_at,
                "note": "",
            },
        )
    # teacher1's classes: `scope` records of history between them.
    for position, class_id in enumerate(demo.teacher_classes):
        share = scope // len(demo.teacher_classes) + (position < scope % len(demo.teacher_classes))
        students = demo.students_of.get(class_id, [])
        _class_history(rows, class_id, f"class:{class_id}", students, teacher, share)
    # Other classes, their history, counseling and referrals, up to `total`.
    other = max(0, total - demo.base_seq - 2 * scope)
    classes = max(1, round(other / PER_CLASS)) if other else 0
    info.classes = classes
    left = other
    for number in range(classes):
        if left <= 0:
            break
        their_teacher = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        class_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        bucket = f"class:{class_id}"
        info.other_buckets.append(bucket)
        rows.specs.append(
            (
                "classes",
                class_id,
                bucket,
                lead,
                {
                    "name": f"其他班 {number}",
                    "name_en": f"Other {number}",
                    "teacher_ids": [their_teacher],
                },
            )
        )
        budget = min(left, PER_CLASS if number < classes - 1 else left) - 1
        students = []
        for s in range(min(STUDENTS, max(0, budget))):
            student = rows.add(
                "students",
                bucket,
                lead,
                {
                    "name": f"学生{number}-{s}",
                    "class_id": class_id,
                    "student_no": f"{number:04d}{s:02d}",
                },
            )
            students.append(student)
            if rng.random() < 0.1:  # a churn moves some of them (see `churn`)
                info.churn_students.append((student, bucket))
        budget -= len(students)
        # 3 % of a class's history: its referrals, and counseling cases and interventions.
        extra = budget * 3 // 100
        checks = _class_history(
            rows, class_id, bucket, students or [class_id], their_teacher, budget - extra
        )
        info.churn_checks.extend((c, bucket) for c in rng.sample(checks, max(0, len(checks) // 50)))
        for index in range(extra):
            student = students[index % len(students)] if students else class_id
            if index % 3 == 0:
                rows.add(
                    "referrals",
                    f"referrals:{their_teacher}",
                    their_teacher,
                    {
                        "student_id": student,
                        "reason": "情绪低落",
                        "status": "accepted",
                        "declined_reason": "",
                    },
                )
            elif index % 3 == 1:
                rows.add(
                    "counseling_cases",
                    "counseling",
                    lead,
                    {
                        "student_id": student,
                        "opened_on": _day(index),
                        "risk_level": "low",
                        "status": "open",
                        "note": "谈话记录",
                    },
                )
            else:
                rows.add(
                    "interventions",
                    "counseling",
                    lead,
                    {
                        "case_id": student,
                        "held_on": _day(index),
                        "kind": "individual_talk",
                        "note": "谈话",
                        "risk_level": "low",
                    },
                )
        left -= budget + len(students) + 1
    rng.shuffle(rows.specs)
    return rows, info


def _copy_text(value: bytes) -> bytes:
    return value.replace(b"\\", b"\\\\")


def _lines(rows: _Rows, base: int, now: str) -> Iterator[tuple[bytes, bytes, tuple[str, str, int]]]:
    for offset, (collection, record_id, bucket, author, fields) in enumerate(rows.specs):
        seq = base + 1 + offset
        hlc = f"{1700000000000 + seq:013d}-000000-{DEVICE}"
        keys = [
            f"{name}.{key}" if name in MAP_FIELDS and isinstance(value, dict) else name
            for name, value in fields.items()
            for key in (value if name in MAP_FIELDS and isinstance(value, dict) else [None])
        ]
        meta = {"seq": seq, "by": author, "device": DEVICE}
        fields_json = _copy_text(orjson.dumps(fields))
        hlc_json = _copy_text(orjson.dumps(dict.fromkeys(keys, hlc)))
        meta_json = _copy_text(orjson.dumps(dict.fromkeys(keys, meta)))
        scope_collection = collection
        record = b"\t".join(
            (
                collection.encode(),
                record_id.encode(),
                fields_json,
                hlc_json,
                meta_json,
                b"f",
                str(seq).encode(),
                bucket.encode(),
                scope_collection.encode(),
                author.encode(),
                now.encode(),
                author.encode(),
                now.encode(),
            )
        )
        change = b"\t".join(
            (
                str(seq).encode(),
                str(uuid.uuid4()).encode(),
                collection.encode(),
                record_id.encode(),
                author.encode(),
                DEVICE.encode(),
                hlc.encode(),
                fields_json,
                b"f",
                now.encode(),
            )
        )
        yield record + b"\n", change + b"\n", (collection, bucket, seq)


def fill(url: str, total: int, scope: int) -> Filled:
    """Add records (see the module's doc) until the database holds about `total`."""
    started = time.perf_counter()
    with psycopg.connect(psycopg_url(url)) as conn:
        demo = read_demo(conn)
        rows, info = plan(demo, total, scope)
        now = "2026-12-01 08:00:00+00"
        seqs: dict[str, int] = {}
        # The fill is one transaction that holds the counter's lock, as a writer would.
        conn.execute("SELECT last_seq FROM seq_counter WHERE id = 1 FOR UPDATE")
        chunk: list[bytes] = []
        changes: list[bytes] = []
        counts: dict[str, int] = {}
        with conn.cursor() as cur:
            with cur.copy(f"COPY records ({RECORD_COLUMNS}) FROM STDIN") as copy:
                for record, change, (collection, _bucket, seq) in _lines(rows, demo.base_seq, now):
                    chunk.append(record)
                    changes.append(change)
                    counts[collection] = counts.get(collection, 0) + 1
                    seqs[collection] = seq
                    if len(chunk) >= 5000:
                        copy.write(b"".join(chunk))
                        chunk.clear()
                if chunk:
                    copy.write(b"".join(chunk))
            with cur.copy(f"COPY changes ({CHANGE_COLUMNS}) FROM STDIN") as copy:
                for start in range(0, len(changes), 5000):
                    copy.write(b"".join(changes[start : start + 5000]))
        changes.clear()
        info.records = len(rows.specs)
        info.last_seq = demo.base_seq + len(rows.specs)
        info.by_collection = counts
        # Moves: the students that changed class, from another class's bucket, at their seq.
        moved = [s for s in rows.specs if s[0] == "students"][::100]
        buckets = info.other_buckets or ["class:none"]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO moves (seq, collection, record_id, from_bucket, scope_collection) "
                "SELECT seq, collection, record_id, %s, collection FROM records "
                "WHERE collection = 'students' AND record_id = %s",
                [(buckets[i % len(buckets)], spec[1]) for i, spec in enumerate(moved)],
            )
        info.moves = len(moved)
        conn.execute("UPDATE seq_counter SET last_seq = %s WHERE id = 1", (info.last_seq,))
        conn.commit()
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE records")
        conn.execute("VACUUM ANALYZE changes")
        conn.execute("VACUUM ANALYZE moves")
    info.seconds = time.perf_counter() - started
    return info


def churn(url: str, info: Filled, share: float = 0.01, seed: int = 7) -> dict[str, int]:
    """Other devices' work since: `share` of the database's records changed in other
    scopes, by bulk SQL under the counter's lock (checks edited; 1 in 10 a student moved to
    another class, with its move). Returns what was written."""
    rng = random.Random(seed)
    wanted = int(info.records * share)
    students = info.churn_students[: max(0, wanted // 10)]
    checks = info.churn_checks[: max(0, wanted - len(students))]
    with psycopg.connect(psycopg_url(url)) as conn:
        (base,) = conn.execute(
            "SELECT last_seq FROM seq_counter WHERE id = 1 FOR UPDATE"
        ).fetchone() or (0,)
        hlc = f"{1800000000000:013d}-000000-{DEVICE}"
        seq = int(base)
        check_rows = []
        for record_id, _bucket in checks:
            seq += 1
            check_rows.append((seq, record_id))
        conn.execute(
            """
            WITH s AS (SELECT unnest(%(seqs)s::bigint[]) AS seq, unnest(%(ids)s::uuid[]) AS id)
            UPDATE records r SET seq = s.seq,
                fields = jsonb_set(r.fields::jsonb, '{note}', '"复查"')::json,
                field_hlc = jsonb_set(r.field_hlc::jsonb, '{note}', to_jsonb(%(hlc)s::text))::json,
                field_meta = jsonb_set(r.field_meta::jsonb, '{note}', jsonb_build_object(
                    'seq', s.seq, 'by', r.created_by, 'device', %(dev)s::text))::json,
                updated_at = now()
            FROM s WHERE r.collection = 'temperature_checks' AND r.record_id = s.id
            """,
            {
                "seqs": [s for s, _ in check_rows],
                "ids": [i for _, i in check_rows],
                "hlc": hlc,
                "dev": DEVICE,
            },
        )
        student_rows = []
        for record_id, bucket in students:
            seq += 1
            target = rng.choice(info.other_buckets)
            if target == bucket and len(info.other_buckets) > 1:
                target = info.other_buckets[
                    (info.other_buckets.index(bucket) + 1) % len(info.other_buckets)
                ]
            student_rows.append((seq, record_id, bucket, target))
        conn.execute(
            """
            WITH s AS (SELECT unnest(%(seqs)s::bigint[]) AS seq, unnest(%(ids)s::uuid[]) AS id,
                              unnest(%(to)s::text[]) AS bucket)
            UPDATE records r SET seq = s.seq, bucket = s.bucket,
                fields = jsonb_set(r.fields::jsonb, '{class_id}',
                                   to_jsonb(substr(s.bucket, 7)))::json,
                updated_at = now()
            FROM s WHERE r.collection = 'students' AND r.record_id = s.id
            """,
            {
                "seqs": [s for s, *_ in student_rows],
                "ids": [r[1] for r in student_rows],
                "to": [r[3] for r in student_rows],
            },
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO moves (seq, collection, record_id, from_bucket, scope_collection) "
                "VALUES (%s, 'students', %s, %s, 'students')",
                [(s, r, b) for s, r, b, _ in student_rows],
            )
        conn.execute(
            """
            INSERT INTO changes (seq, change_id, collection, record_id, user_id, device_id, hlc,
                                 fields, deleted, received_at)
            SELECT seq, gen_random_uuid(), collection, record_id, created_by, %(dev)s, %(hlc)s,
                   '{}'::json, false, now()
            FROM records WHERE seq > %(base)s
            """,
            {"dev": DEVICE, "hlc": hlc, "base": base},
        )
        conn.execute("UPDATE seq_counter SET last_seq = %s WHERE id = 1", (seq,))
        conn.commit()
    info.last_seq = seq
    return {
        "edited": len(check_rows),
        "moved": len(student_rows),
        "from_seq": int(base),
        "to_seq": seq,
    }
