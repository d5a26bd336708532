"""CSV import of people and students (server.roster), on SQLite and PostgreSQL."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from server import records, roster
from server.models import Record, User
from shared.hlc import Clock
from shared.schemas.vocabulary import Role
from tests.factories import auth, create_user, login

MakeClass = Callable[..., uuid.UUID]


@pytest.fixture
def session(app: FastAPI) -> Iterator[Session]:
    with Session(app.state.engine) as db:
        yield db


def write_csv(folder: Path, text: str, encoding: str = "utf-8", name: str = "roster.csv") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def user_count(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(User)).one()


def users_by_name(session: Session) -> dict[str, User]:
    session.expire_all()
    return {u.username: u for u in session.exec(select(User))}


def classes_by_name(session: Session) -> dict[str, Record]:
    session.expire_all()
    return {str(r.fields["name"]): r for r in records.live(session, "classes")}


def students(session: Session) -> list[Record]:
    session.expire_all()
    return records.live(session, "students")


def import_users(session: Session, path: Path) -> roster.ImportReport:
    return roster.import_users(session, Clock("test-node"), path)


def import_students(
    session: Session, path: Path, *, create_classes: bool = False
) -> roster.ImportReport:
    return roster.import_students(session, Clock("test-node"), path, create_classes=create_classes)


@pytest.fixture
def make_class(app: FastAPI, client: TestClient) -> MakeClass:
    """Makes a class the way a lead does, through the administration API."""
    headers: dict[str, str] = {}

    def make(name: str, name_en: str | None = None) -> uuid.UUID:
        if not headers:
            lead = create_user(app, Role.LEAD, username="class_maker")
            headers.update(auth(login(client, lead.username)["token"]))
        body: dict[str, object] = {"name": name, "teacher_ids": []}
        if name_en:
            body["name_en"] = name_en
        response = client.post("/api/v1/admin/classes", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["record_id"])

    return make


def problems_of(excinfo: pytest.ExceptionInfo[roster.RosterError]) -> list[str]:
    return excinfo.value.problems


def lines_in(problems: list[str]) -> list[int]:
    """The line numbers the problems name, in order."""
    found = []
    for problem in problems:
        assert problem.startswith("line "), problem
        found.append(int(problem.split(":", 1)[0].removeprefix("line ")))
    return found


# People -------------------------------------------------------------------------------

GOOD_USERS = """\
username,display_name,role,password,classes
王老师,王丽华,班主任,teacher-pass-1,初一(1)班;初一(2)班
cleaner_zhang,张建国,保洁员,cleaner-pass-1,
liu.xin,刘欣,心理老师,,
boss,周校长,lead,lead-password,
smith,Anne Smith,Class Teacher,anne-password,
"""


def test_import_users_creates_accounts_roles_and_classes(
    app: FastAPI, session: Session, client: TestClient, tmp_path: Path
) -> None:
    report = import_users(session, write_csv(tmp_path, GOOD_USERS))

    assert report.created == 5
    assert report.updated == 0
    assert sorted(report.classes_created) == ["初一(1)班", "初一(2)班"]
    users = users_by_name(session)
    assert {name: u.role for name, u in users.items()} == {
        "王老师": Role.CLASS_TEACHER,
        "cleaner_zhang": Role.CLEANER,
        "liu.xin": Role.COUNSELOR,
        "boss": Role.LEAD,
        "smith": Role.CLASS_TEACHER,
    }
    assert users["王老师"].display_name == "王丽华"
    assert users["smith"].display_name == "Anne Smith"
    assert all(u.active for u in users.values())

    # Only the row with an empty password gets a generated one, reported once.
    assert [name for name, _ in report.generated_passwords] == ["liu.xin"]
    generated = report.generated_passwords[0][1]
    assert len(generated) >= 8
    body = login(client, "liu.xin", generated)
    assert body["user"]["role"] == "counselor"
    assert body["user"]["display_name"] == "刘欣"
    # The given passwords work too, and a Chinese username signs in.
    assert login(client, "王老师", "teacher-pass-1")["user"]["role"] == "class_teacher"
    assert login(client, "cleaner_zhang", "cleaner-pass-1")["user"]["role"] == "cleaner"

    classes = classes_by_name(session)
    assert set(classes) == {"初一(1)班", "初一(2)班"}
    teacher_id = str(users["王老师"].id)
    for record in classes.values():
        assert record.fields["teacher_ids"] == [teacher_id]

    # The classes were written through the change log, so the lead's API (and the phones)
    # see them.
    lead_token = login(client, "boss", "lead-password")["token"]
    listed = client.get("/api/v1/admin/classes", headers=auth(lead_token))
    assert listed.status_code == 200, listed.text
    assert sorted(r["fields"]["name"] for r in listed.json()) == ["初一(1)班", "初一(2)班"]


def test_import_users_adds_teacher_to_existing_class(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    existing = make_class("初二(3)班", "Grade 8 Class 3")
    csv_text = (
        "username,display_name,role,classes\n"
        "t1,陈老师,班主任,初二(3)班\n"
        "t2,李老师,class_teacher,grade 8 class 3；初二(4)班\n"
    )
    report = import_users(session, write_csv(tmp_path, csv_text))

    assert report.created == 2
    assert report.classes_created == ["初二(4)班"]
    classes = classes_by_name(session)
    assert set(classes) == {"初二(3)班", "初二(4)班"}
    assert classes["初二(3)班"].record_id == existing
    users = users_by_name(session)
    assert classes["初二(3)班"].fields["teacher_ids"] == [str(users["t1"].id), str(users["t2"].id)]
    assert classes["初二(4)班"].fields["teacher_ids"] == [str(users["t2"].id)]
    # No password column at all: every account gets a generated one.
    assert sorted(name for name, _ in report.generated_passwords) == ["t1", "t2"]


@pytest.mark.parametrize(
    ("rows", "bad_lines", "fragment"),
    [
        pytest.param("zhou,周老师,principal,password-1\n", [3], "unknown role", id="unknown-role"),
        pytest.param(
            "zhang san,张三,cleaner,password-1\n", [3], "username", id="username-with-space"
        ),
        pytest.param("short,短密码,cleaner,1234567\n", [3], "password", id="short-password"),
        pytest.param(
            "good_one,好人,cleaner,password-1\nGOOD_ONE,又一个,cleaner,password-2\n",
            [4],
            "twice",
            id="duplicate-in-file",
        ),
        pytest.param(
            "already_here,已存在,cleaner,password-1\n", [3], "already exists", id="existing"
        ),
        pytest.param(
            "c_with_class,保洁阿姨,保洁员,password-1,初一(1)班\n",
            [3],
            "class teacher",
            id="non-teacher-with-classes",
        ),
    ],
)
def test_bad_users_file_imports_nothing(
    app: FastAPI, session: Session, tmp_path: Path, rows: str, bad_lines: list[int], fragment: str
) -> None:
    if "already_here" in rows:
        create_user(app, Role.CLEANER, username="already_here")
    before = user_count(session)
    csv_text = (
        "username,display_name,role,password,classes\n"
        "ok_teacher,好老师,班主任,password-ok,初三(1)班\n" + rows + "ok_cleaner,好阿姨,保洁员,,\n"
    )
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, write_csv(tmp_path, csv_text))

    problems = problems_of(excinfo)
    assert lines_in(problems) == bad_lines
    assert fragment in problems[-1]
    assert str(excinfo.value) == "\n".join(problems)
    session.rollback()
    assert user_count(session) == before
    assert classes_by_name(session) == {}
    assert records.live(session, "classes") == []


def test_bad_users_file_reports_every_bad_line(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    create_user(app, Role.LEAD, username="Taken")
    csv_text = (
        "username,display_name,role,password,classes\n"  # 1
        "fine1,甲,cleaner,password-1,\n"  # 2
        "fine2,乙,班主任,password-2,初一(1)班\n"  # 3
        "bad role,丙,janitor,password-3,\n"  # 4: unknown role
        "has space,丁,cleaner,password-4,\n"  # 5: username
        "shorty,戊,cleaner,short,\n"  # 6: password
        "fine1,己,cleaner,password-6,\n"  # 7: twice
        "taken,庚,cleaner,password-7,\n"  # 8: exists (case folded)
        "psy,辛,counselor,password-8,初一(2)班\n"  # 9: classes on a counselor
        "\n"  # 10: blank
        "fine3,壬,lead,password-9,\n"  # 11
        "nameless,,cleaner,password-10,\n"  # 12: empty display name
    )
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, write_csv(tmp_path, csv_text))

    problems = problems_of(excinfo)
    assert lines_in(problems) == [4, 5, 6, 7, 8, 9, 12]
    assert "janitor" in problems[0]
    assert "twice" in problems[3]
    assert "already exists" in problems[4]
    assert "class teacher" in problems[5]
    session.rollback()
    assert set(users_by_name(session)) == {"Taken"}
    assert records.live(session, "classes") == []


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("username,display_name,password", "role"),
        ("user,display_name,role", "username"),
        ("username,role", "display_name"),
    ],
)
def test_users_file_missing_column(
    app: FastAPI, session: Session, tmp_path: Path, header: str, missing: str
) -> None:
    path = write_csv(tmp_path, f"{header}\nzhao,赵,cleaner\n")
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, path)
    (problem,) = problems_of(excinfo)
    assert problem.startswith("line 1:")
    assert missing in problem
    assert user_count(session) == 0


def test_users_file_without_rows(app: FastAPI, session: Session, tmp_path: Path) -> None:
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, write_csv(tmp_path, "username,display_name,role\n\n"))
    assert "no rows" in problems_of(excinfo)[0]
    assert user_count(session) == 0


def test_header_is_case_and_space_insensitive(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path, " Username , Display_Name ,ROLE,Password\r\nmei, 梅 ,  领导 ,pw-123456\r\n"
    )
    report = import_users(session, path)
    assert report.created == 1
    user = users_by_name(session)["mei"]
    assert (user.display_name, user.role) == ("梅", Role.LEAD)


CHINESE_USERS = (
    "username,display_name,role,password,classes\n"
    "李明,李明,班主任,password-李明,初一(1)班、初一(2)班\n"
    "保洁_王,王阿姨,保洁,password-wang,\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_users_file_encodings(
    app: FastAPI, session: Session, tmp_path: Path, encoding: str
) -> None:
    path = write_csv(tmp_path, CHINESE_USERS, encoding)
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    else:
        assert path.read_bytes() != CHINESE_USERS.encode()

    report = import_users(session, path)

    assert report.created == 2
    users = users_by_name(session)
    assert set(users) == {"李明", "保洁_王"}
    assert users["保洁_王"].display_name == "王阿姨"
    assert users["保洁_王"].role == Role.CLEANER
    assert users["李明"].display_name == "李明"
    assert users["李明"].role == Role.CLASS_TEACHER
    assert set(classes_by_name(session)) == {"初一(1)班", "初一(2)班"}


def test_users_file_neither_utf8_nor_gbk(app: FastAPI, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(b"username,display_name,role\n\xff\xff\xff,x,cleaner\n")
    with pytest.raises(roster.RosterError):
        import_users(session, path)
    assert user_count(session) == 0


def test_too_long_class_name_is_a_line_problem(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """A class name the schema refuses (over 100 characters) must be reported by its line,
    like every other bad value, and nothing may be imported."""
    long_name = "班" * 101
    csv_text = (
        "username,display_name,role,password,classes\n"
        "first_teacher,甲老师,班主任,password-1,初一(1)班\n"
        f"long_teacher,乙老师,班主任,password-2,{long_name}\n"
    )
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, write_csv(tmp_path, csv_text))
    assert lines_in(problems_of(excinfo)) == [3]
    session.rollback()
    assert user_count(session) == 0
    assert records.live(session, "classes") == []


def test_class_named_twice_lists_teacher_once(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    """A row naming one class twice (by its name and its English name) makes the teacher its
    teacher once: teacher_ids holds each teacher a single time."""
    make_class("初一(1)班", "Grade 7 Class 1")
    csv_text = (
        "username,display_name,role,password,classes\n"
        "twice,陈老师,班主任,password-1,初一(1)班;Grade 7 Class 1;初一(2)班;初一(2)班\n"
    )
    import_users(session, write_csv(tmp_path, csv_text))
    teacher_id = str(users_by_name(session)["twice"].id)
    classes = classes_by_name(session)
    assert classes["初一(1)班"].fields["teacher_ids"] == [teacher_id]
    assert classes["初一(2)班"].fields["teacher_ids"] == [teacher_id]


def test_unquoted_commas_in_classes_are_not_lost(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """Commas separate classes, but unquoted they split the CSV row: the extra field must
    either be reported (nothing imported) or be read as the second class, never dropped."""
    csv_text = (
        "username,display_name,role,password,classes\n"
        "commas,陈老师,班主任,password-1,初一(1)班,初一(2)班\n"
    )
    try:
        import_users(session, write_csv(tmp_path, csv_text))
    except roster.RosterError as exc:
        assert lines_in(exc.problems) == [2]
        session.rollback()
        assert user_count(session) == 0
        return
    assert set(classes_by_name(session)) == {"初一(1)班", "初一(2)班"}


def test_new_teacher_for_class_of_deactivated_teacher(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """A teacher leaves (their account is deactivated) and the next roster names a new teacher
    for the class: the import must add them, or report the line; never fail half-way with an
    error about the old teacher."""
    first = (
        "username,display_name,role,password,classes\nold_t,老老师,班主任,password-1,初一(1)班\n"
    )
    import_users(session, write_csv(tmp_path, first, name="first.csv"))
    old = users_by_name(session)["old_t"]
    old.active = False
    session.add(old)
    session.commit()

    second = (
        "username,display_name,role,password,classes\nnew_t,新老师,班主任,password-2,初一(1)班\n"
    )
    try:
        import_users(session, write_csv(tmp_path, second, name="second.csv"))
    except roster.RosterError as exc:
        assert lines_in(exc.problems) == [2]
        session.rollback()
        assert set(users_by_name(session)) == {"old_t"}
        return
    new = users_by_name(session)["new_t"]
    assert str(new.id) in classes_by_name(session)["初一(1)班"].fields["teacher_ids"]


def test_too_long_class_name_for_students_is_a_line_problem(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """The same for a class that --create-classes would make from the students file."""
    csv_text = f"name,class\n甲,初一(1)班\n乙,{'班' * 101}\n"
    with pytest.raises(roster.RosterError) as excinfo:
        import_students(session, write_csv(tmp_path, csv_text), create_classes=True)
    assert lines_in(problems_of(excinfo)) == [3]
    session.rollback()
    assert students(session) == []
    assert records.live(session, "classes") == []


# Students -----------------------------------------------------------------------------


def test_import_students_into_existing_classes(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    class1 = make_class("初一(1)班", "Grade 7 Class 1")
    class2 = make_class("初一(2)班")
    csv_text = (
        "name,class,student_no\n"
        "王小明,初一(1)班,20260101\n"
        "李小红,grade 7 class 1,20260102\n"
        "张伟,初一(2)班,\n"
    )
    report = import_students(session, write_csv(tmp_path, csv_text))

    assert (report.created, report.updated, report.classes_created) == (3, 0, [])
    by_name = {s.fields["name"]: s.fields for s in students(session)}
    assert by_name == {
        "王小明": {"name": "王小明", "class_id": str(class1), "student_no": "20260101"},
        "李小红": {"name": "李小红", "class_id": str(class1), "student_no": "20260102"},
        "张伟": {"name": "张伟", "class_id": str(class2), "student_no": None},
    }
    assert set(classes_by_name(session)) == {"初一(1)班", "初一(2)班"}


def test_import_students_into_class_made_through_lead_api(
    app: FastAPI, session: Session, client: TestClient, tmp_path: Path
) -> None:
    lead = create_user(app, Role.LEAD)
    headers = auth(login(client, lead.username)["token"])
    made = client.post(
        "/api/v1/admin/classes", json={"name": "高一(5)班", "teacher_ids": []}, headers=headers
    )
    assert made.status_code == 201, made.text

    report = import_students(session, write_csv(tmp_path, "class,name\n高一(5)班,欧阳娜娜\n"))

    assert report.created == 1
    listed = client.get("/api/v1/admin/students", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [(s["fields"]["name"], s["fields"]["class_id"]) for s in listed.json()] == [
        ("欧阳娜娜", made.json()["record_id"])
    ]


def test_unknown_class_imports_nothing(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    make_class("初一(1)班")
    csv_text = (
        "name,class,student_no\n王小明,初一(1)班,1\n李小红,初一(9)班,2\n张伟,初一(1)班,3\n赵六,,4\n"
    )
    with pytest.raises(roster.RosterError) as excinfo:
        import_students(session, write_csv(tmp_path, csv_text))

    problems = problems_of(excinfo)
    assert lines_in(problems) == [3, 5]
    assert "初一(9)班" in problems[0]
    assert "--create-classes" in problems[0]
    assert "class is empty" in problems[1]
    session.rollback()
    assert students(session) == []
    assert set(classes_by_name(session)) == {"初一(1)班"}


def test_create_classes_makes_missing_classes_once(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    existing = make_class("初一(1)班")
    csv_text = (
        "name,class,student_no\n"
        "王小明,初一(1)班,1\n"
        "李小红,初三(2)班,2\n"
        "张伟,初三(2)班,3\n"
        "赵六,初三(3)班,4\n"
    )
    report = import_students(session, write_csv(tmp_path, csv_text), create_classes=True)

    assert report.created == 4
    assert report.classes_created == ["初三(2)班", "初三(3)班"]
    classes = classes_by_name(session)
    assert set(classes) == {"初一(1)班", "初三(2)班", "初三(3)班"}
    assert classes["初一(1)班"].record_id == existing
    assert classes["初三(2)班"].fields["teacher_ids"] == []
    class_of = {s.fields["name"]: s.fields["class_id"] for s in students(session)}
    assert class_of == {
        "王小明": str(existing),
        "李小红": str(classes["初三(2)班"].record_id),
        "张伟": str(classes["初三(2)班"].record_id),
        "赵六": str(classes["初三(3)班"].record_id),
    }


def test_reimport_updates_and_moves_students(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    class1 = make_class("初一(1)班")
    class2 = make_class("初一(2)班")
    first = write_csv(
        tmp_path,
        "name,class,student_no\n王小明,初一(1)班,S001\n李小红,初一(1)班,S002\n张伟,初一(2)班,S003\n",
        name="first.csv",
    )
    assert import_students(session, first).created == 3
    ids_before = {s.fields["student_no"]: s.record_id for s in students(session)}

    # The same file again changes nothing but counts every row as updated.
    again = import_students(session, first)
    assert (again.created, again.updated) == (0, 3)
    assert len(students(session)) == 3

    second = write_csv(
        tmp_path,
        "name,class,student_no\n"
        "王小明,初一(2)班,S001\n"  # moved to class 2
        "李晓红,初一(1)班,S002\n"  # name corrected
        "新同学,初一(2)班,S004\n",  # new
        name="second.csv",
    )
    report = import_students(session, second)

    assert (report.created, report.updated) == (1, 2)
    now = {s.fields["student_no"]: s for s in students(session)}
    assert set(now) == {"S001", "S002", "S003", "S004"}
    for number in ("S001", "S002", "S003"):
        assert now[number].record_id == ids_before[number]
    assert now["S001"].fields["class_id"] == str(class2)
    assert now["S001"].fields["name"] == "王小明"
    assert now["S002"].fields["name"] == "李晓红"
    assert now["S002"].fields["class_id"] == str(class1)
    assert now["S003"].fields["class_id"] == str(class2)
    assert now["S004"].fields["class_id"] == str(class2)


def test_reimport_move_into_new_class(
    app: FastAPI, session: Session, make_class: MakeClass, tmp_path: Path
) -> None:
    make_class("初一(1)班")
    import_students(session, write_csv(tmp_path, "name,class,student_no\n王小明,初一(1)班,9\n"))
    moved = write_csv(tmp_path, "name,class,student_no\n王小明,初二(1)班,9\n", name="moved.csv")

    with pytest.raises(roster.RosterError):
        import_students(session, moved)
    report = import_students(session, moved, create_classes=True)

    assert (report.created, report.updated, report.classes_created) == (0, 1, ["初二(1)班"])
    (student,) = students(session)
    assert student.fields["class_id"] == str(classes_by_name(session)["初二(1)班"].record_id)


@pytest.mark.parametrize(
    ("rows", "bad_lines", "fragment"),
    [
        pytest.param("甲,初一(1)班,7\n乙,初一(1)班,7\n", [4], "twice", id="duplicate-no"),
        pytest.param(",初一(1)班,8\n", [3], "name", id="empty-name"),
        pytest.param("丙" * 51 + ",初一(1)班,9\n", [3], "name", id="name-too-long"),
        pytest.param("丁,初一(1)班," + "1" * 33 + "\n", [3], "student_no", id="number-too-long"),
    ],
)
def test_bad_students_file_imports_nothing(
    app: FastAPI, session: Session, tmp_path: Path, rows: str, bad_lines: list[int], fragment: str
) -> None:
    csv_text = "name,class,student_no\n好学生,初一(1)班,1\n" + rows + "另一个,初一(1)班,2\n"
    with pytest.raises(roster.RosterError) as excinfo:
        import_students(session, write_csv(tmp_path, csv_text), create_classes=True)

    problems = problems_of(excinfo)
    # A duplicate is reported at its second appearance.
    assert lines_in(problems) == bad_lines
    assert fragment in problems[0]
    session.rollback()
    assert students(session) == []
    assert records.live(session, "classes") == []


def test_students_file_missing_column(app: FastAPI, session: Session, tmp_path: Path) -> None:
    with pytest.raises(roster.RosterError) as excinfo:
        import_students(session, write_csv(tmp_path, "name,student_no\n王小明,1\n"))
    (problem,) = problems_of(excinfo)
    assert problem.startswith("line 1:")
    assert "class" in problem


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_students_file_encodings(
    app: FastAPI, session: Session, tmp_path: Path, encoding: str
) -> None:
    text = "姓名备注无关,name,class\n,欧阳修,初一(1)班\n,司马光,初一(1)班\n"
    path = write_csv(tmp_path, text, encoding)
    report = import_students(session, path, create_classes=True)
    assert report.created == 2
    assert report.classes_created == ["初一(1)班"]
    school_class = classes_by_name(session)["初一(1)班"]
    assert sorted(s.fields["name"] for s in students(session)) == ["司马光", "欧阳修"]
    assert {s.fields["class_id"] for s in students(session)} == {str(school_class.record_id)}


def test_students_written_through_change_log(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """Imported students reach the phones: each write has a change-log entry and a seq."""
    path = write_csv(tmp_path, "name,class\n甲,初一(1)班\n乙,初一(1)班\n")
    import_students(session, path, create_classes=True)
    rows = students(session)
    seqs = [r.seq for r in rows]
    assert len(set(seqs)) == 2
    assert all(seq > 0 for seq in seqs)
    assert all(isinstance(r.record_id, uuid.UUID) for r in rows)
    top = session.exec(select(func.max(col(Record.seq)))).one()
    assert top == max(seqs)


def test_control_characters_in_a_file_are_line_problems(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    """A NUL or another control character in a name: refused on its line, on both
    databases (PostgreSQL could not store a NUL), and nothing is imported."""
    people = (
        "username,display_name,role,password,classes\n"
        "fine1,甲,cleaner,password-1,\n"  # 2
        "nul1,乙\x00,cleaner,password-2,\n"  # 3
        "esc1,丙\x1b[31m,cleaner,password-3,\n"  # 4
        "teach,丁,班主任,password-4,初一\x07(1)班\n"  # 5: a class name
    )
    with pytest.raises(roster.RosterError) as excinfo:
        import_users(session, write_csv(tmp_path, people))
    problems = problems_of(excinfo)
    assert lines_in(problems) == [3, 4, 5]
    assert "control characters" in problems[0]
    session.rollback()
    assert user_count(session) == 0
    pupils = "name,class,student_no\n甲,初一(1)班,1\n乙\x00,初一(1)班,2\n丙,初一(1)班,3\x01\n"
    with pytest.raises(roster.RosterError) as excinfo:
        import_students(session, write_csv(tmp_path, pupils, name="s.csv"), create_classes=True)
    assert lines_in(problems_of(excinfo)) == [3, 4]
    session.rollback()
    assert students(session) == []
