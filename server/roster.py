"""Importing people and students from the spreadsheets schools keep (CSV).

A file is checked whole before anything is written: every bad row is reported by its
line number, and one bad row imports nothing, so a file is never half imported.
"""

import csv
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from server import accounts, records, school_setup
from server.models import Record, User
from server.records import RecordWriter
from server.security import generate_password, username_key
from shared.hlc import Clock
from shared.schemas.collections import (
    COLLECTIONS,
    InvalidValue,
    first_error,
    validate_field,
    validate_record,
)
from shared.schemas.vocabulary import Role
from shared.schemas.wire import UserCreate

# What people write in the role column, in either language.
ROLE_WORDS: dict[str, Role] = {
    "cleaner": Role.CLEANER,
    "保洁员": Role.CLEANER,
    "保洁": Role.CLEANER,
    "class_teacher": Role.CLASS_TEACHER,
    "class teacher": Role.CLASS_TEACHER,
    "teacher": Role.CLASS_TEACHER,
    "班主任": Role.CLASS_TEACHER,
    "counselor": Role.COUNSELOR,
    "心理老师": Role.COUNSELOR,
    "心理健康教师": Role.COUNSELOR,
    "lead": Role.LEAD,
    "防控负责人": Role.LEAD,
    "领导": Role.LEAD,
}
_LIST_SEPARATORS = re.compile(r"[;；,，、]")


class RosterError(Exception):
    """The file cannot be imported; `problems` lists each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    classes_created: list[str] = field(default_factory=list)
    # (username, password) for the accounts whose password the file left empty.
    generated_passwords: list[tuple[str, str]] = field(default_factory=list)


def read_rows(path: Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """The rows of a CSV file with their line numbers; UTF-8 (with or without BOM) or GBK."""
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            content = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise RosterError([f"{path}: not a UTF-8 or GBK text file"]) from exc
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise RosterError([f"line 1: missing column(s): {', '.join(missing)}"])
    reader.fieldnames = header
    rows = []
    extra: list[str] = []
    for row in reader:
        if row.get(None):
            extra.append(
                f"line {reader.line_num}: more values than columns; put a value that "
                'contains commas in double quotes ("a,b")'
            )
            continue
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(values.values()):
            rows.append((reader.line_num, values))
    if extra:
        raise RosterError(extra)
    if not rows:
        raise RosterError([f"{path}: no rows to import"])
    return rows


def _live_classes_by_name(session: Session) -> dict[str, Record]:
    classes: dict[str, Record] = {}
    for record in records.live(session, "classes"):
        for key in ("name", "name_en"):
            if record.fields.get(key):
                classes[str(record.fields[key]).casefold()] = record
    return classes


def _unique(names: list[str]) -> list[str]:
    unique: dict[str, str] = {}
    for name in names:
        unique.setdefault(name.casefold(), name)
    return list(unique.values())


def _class_name_problems(names: Iterable[str]) -> list[str]:
    problems = []
    for name in names:
        try:
            validate_field(COLLECTIONS["classes"], "name", name)
        except InvalidValue as exc:
            problems.append(
                f"class {name[:20]!r}…: {exc}" if len(name) > 20 else f"class {name!r}: {exc}"
            )
    return problems


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(value) if part.strip()]


def import_users(session: Session, clock: Clock, path: Path) -> ImportReport:
    """Import accounts from columns username, display_name, role[, password][, classes]."""
    rows = read_rows(path, ("username", "display_name", "role"))
    problems: list[str] = []
    planned: list[tuple[UserCreate, list[str], bool]] = []
    seen: set[str] = set()
    for line, row in rows:
        role = ROLE_WORDS.get(row.get("role", "").casefold())
        if role is None:
            problems.append(f"line {line}: unknown role {row.get('role')!r}")
            continue
        generated = not row.get("password")
        try:
            data = UserCreate(
                username=row["username"],
                display_name=row["display_name"],
                role=role,
                password=row.get("password") or generate_password(),
            )
        except ValidationError as exc:
            problems.append(f"line {line}: {first_error(exc)}")
            continue
        key = username_key(data.username)
        if key in seen:
            problems.append(f"line {line}: username {data.username!r} appears twice in the file")
        elif session.exec(select(User).where(User.username_key == key)).first():
            problems.append(f"line {line}: username {data.username!r} already exists")
        seen.add(key)
        class_names = _unique(_split_list(row.get("classes", "")))
        if class_names and role is not Role.CLASS_TEACHER:
            problems.append(f"line {line}: only a class teacher can have classes")
        problems += [f"line {line}: {p}" for p in _class_name_problems(class_names)]
        planned.append((data, class_names, generated))
    if problems:
        raise RosterError(problems)

    report = ImportReport()
    classes = _live_classes_by_name(session)
    writer = RecordWriter(session, clock)
    for data, class_names, generated in planned:
        user = accounts.create_user(session, data)
        session.flush()
        report.created += 1
        if generated:
            report.generated_passwords.append((data.username, data.password))
        for class_name in class_names:
            record = classes.get(class_name.casefold())
            if record is None:
                record = school_setup.create(
                    writer, None, "classes", {"name": class_name, "teacher_ids": []}
                )
                classes[class_name.casefold()] = record
                report.classes_created.append(class_name)
            teacher_ids = record.fields.get("teacher_ids", [])
            if str(user.id) in teacher_ids:
                continue  # the same class named twice (say, by its Chinese and English name)
            teacher_ids = [*teacher_ids, str(user.id)]
            record = school_setup.update(
                writer, None, "classes", record.record_id, {"teacher_ids": teacher_ids}
            )
            classes[class_name.casefold()] = record
    writer.finish()
    session.commit()
    return report


def import_students(
    session: Session, clock: Clock, path: Path, *, create_classes: bool = False
) -> ImportReport:
    """Import students from columns name, class[, student_no].

    A row whose student_no already exists updates that student (a new class moves them),
    so importing this year's roster again is safe.
    """
    rows = read_rows(path, ("name", "class"))
    problems: list[str] = []
    classes = _live_classes_by_name(session)
    by_number = {
        str(r.fields["student_no"]): r
        for r in records.live(session, "students")
        if r.fields.get("student_no")
    }
    placeholder = str(uuid.uuid4())
    planned: list[tuple[dict[str, Any], str]] = []
    seen_numbers: set[str] = set()
    for line, row in rows:
        class_name = row.get("class", "")
        if not class_name:
            problems.append(f"line {line}: class is empty")
            continue
        name_problems = _class_name_problems([class_name])
        if name_problems:
            problems += [f"line {line}: {p}" for p in name_problems]
            continue
        if class_name.casefold() not in classes and not create_classes:
            problems.append(
                f"line {line}: unknown class {class_name!r} "
                "(create it first, or pass --create-classes)"
            )
            continue
        fields: dict[str, Any] = {"name": row.get("name", ""), "class_id": placeholder}
        if row.get("student_no"):
            fields["student_no"] = row["student_no"]
        try:
            validate_record(COLLECTIONS["students"], fields)
        except InvalidValue as exc:
            problems.append(f"line {line}: {exc}")
            continue
        number = fields.get("student_no")
        if number is not None:
            if number in seen_numbers:
                problems.append(f"line {line}: student_no {number!r} appears twice in the file")
            seen_numbers.add(number)
        planned.append((fields, class_name))
    if problems:
        raise RosterError(problems)

    report = ImportReport()
    writer = RecordWriter(session, clock)
    for fields, class_name in planned:
        record = classes.get(class_name.casefold())
        if record is None:
            record = school_setup.create(
                writer, None, "classes", {"name": class_name, "teacher_ids": []}
            )
            classes[class_name.casefold()] = record
            report.classes_created.append(class_name)
        fields["class_id"] = str(record.record_id)
        existing = by_number.get(fields.get("student_no", ""))
        if existing is not None:
            school_setup.update(writer, None, "students", existing.record_id, fields)
            report.updated += 1
        else:
            school_setup.create(writer, None, "students", fields)
            report.created += 1
    writer.finish()
    session.commit()
    return report
