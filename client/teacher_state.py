"""The class teacher: sick students, follow-ups, class checks and referrals."""

import uuid
from datetime import date
from typing import Any

from client.due_lists import calendar_of, sick_students
from client.state_core import MissingInput, StateCore, action, typed_day
from shared.health import causes_missing, check_day, check_slot, close_problem, slots_of
from shared.schemas.collections import COLLECTIONS, SCHOOL_SETTINGS_ID, validate_record


class TeacherState(StateCore):
    """The class teacher's day: sick students followed until they are back, the classes'
    晨午检, the absence register with causes, referrals."""

    def my_classes(self) -> list[tuple[str, str]]:
        classes = self._records("classes")
        return sorted(((cid, self.name_of("classes", cid)) for cid in classes), key=lambda c: c[1])

    def students_of(self, class_id: str) -> list[tuple[str, str]]:
        return sorted(
            (
                (sid, str(f["name"]))
                for sid, f in self._records("students").items()
                if str(f.get("class_id")) == class_id
            ),
            key=lambda s: s[1],
        )

    def sick_list(self) -> list[dict[str, Any]]:
        """Open cases, those still lacking today's follow-up first."""
        return [
            {
                "case_id": sick.case_id,
                "student_id": str(sick.case["student_id"]),
                "student": self.name_of("students", sick.case["student_id"]),
                "class": self.name_of("classes", sick.case["class_id"]),
                "needed_today": sick.state.needed_today,
                "missed": len(sick.state.missed),
                "symptoms": sick.case.get("symptoms", ""),
            }
            for sick in sick_students(self._store(), self.now())
        ]

    @action
    def open_case(
        self,
        student_id: str | None,
        onset_date: date | str | None,
        symptoms: str,
        symptom: str | None = None,
        absence_id: str | None = None,
    ) -> str:
        """A sick case from the day it began (any day up to today); from an absence or a
        check's feverish student, linked to it."""
        if not student_id:
            raise MissingInput("student_needed")
        student = self._store().get("students", student_id)
        if student is None:
            raise MissingInput("student_needed")
        onset = typed_day(onset_date) or self.today()
        if onset > self.today():
            raise MissingInput("onset_in_future")
        case_id = str(uuid.uuid4())
        fields: dict[str, Any] = {
            "student_id": student_id,
            "class_id": student.fields["class_id"],
            "onset_date": onset.isoformat(),
            "opened_on": self.today().isoformat(),
            "symptoms": symptoms,
        }
        if symptom:
            fields["symptom"] = symptom
        validate_record(COLLECTIONS["sick_cases"], fields)
        self._store().edit("sick_cases", case_id, fields)
        if absence_id:
            self._store().edit("absences", absence_id, {"case_id": case_id})
        self._done("ui.saved.case")
        return case_id

    @action
    def add_follow_up(self, case_id: str, method: str, **details: Any) -> str:
        follow_up_id = str(uuid.uuid4())
        fields = {"case_id": case_id, "visit_date": self.today().isoformat(), "method": method}
        fields.update({k: v for k, v in details.items() if v not in (None, "")})
        validate_record(COLLECTIONS["follow_ups"], fields)
        self._store().edit("follow_ups", follow_up_id, fields)
        self._done("ui.saved.follow_up")
        return follow_up_id

    def follow_ups_of(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("follow_ups").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["visit_date"],
            reverse=True,
        )

    def clearance_required(self) -> bool:
        return bool(self._settings().get("clearance_required", True))

    @action
    def close_case(
        self,
        case_id: str,
        returned_on: date | str | None = None,
        clearance_by: str = "",
        clearance_on: date | str | None = None,
        waived: str = "",
    ) -> None:
        """The student is back (复课): the day, and the return clearance (who issued it and
        when) or why none was needed. The server refuses a close without either."""
        returned = typed_day(returned_on) or self.today()
        issued = typed_day(clearance_on)
        changes: dict[str, Any] = {
            "status": "closed",
            "returned_on": returned.isoformat(),
            "clearance_by": clearance_by.strip() or None,
            "clearance_on": issued.isoformat() if issued else None,
            "clearance_waived": waived.strip(),
        }
        case = self._store().get("sick_cases", case_id)
        merged = {**(case.fields if case else {}), **changes}
        if close_problem(merged, changes):
            raise MissingInput("clearance_needed")
        self._store().edit("sick_cases", case_id, changes)
        self._done("ui.saved.closed")

    # 晨午检 --------------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        return self._records("school_settings").get(str(SCHOOL_SETTINGS_ID), {})

    def check_slots(self) -> tuple[str, ...]:
        return slots_of(self._settings())

    def todays_checks(self) -> list[dict[str, Any]]:
        """Each of the teacher's classes and each slot today: the check made (present,
        absent, feverish students by name, who, when) or missing. Nothing on a closed day."""
        calendar = calendar_of(self._store())
        today = self.today()
        if not calendar.is_open(today):
            return []
        made: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
        for check_id, f in self._records("temperature_checks").items():
            if check_day(f, calendar) == today:
                made[(str(f["class_id"]), check_slot(f, calendar))] = (check_id, f)
        rows = []
        for class_id, class_name in self.my_classes():
            for slot in self.check_slots():
                check_id, f = made.get((class_id, slot), ("", {}))
                rows.append(
                    {
                        "class_id": class_id,
                        "class": class_name,
                        "slot": slot,
                        "done": bool(f),
                        "check_id": check_id,
                        "present": f.get("students_checked"),
                        "absent": f.get("absent"),
                        "fever": f.get("fever_count"),
                        "feverish": [
                            (str(s), self.name_of("students", s))
                            for s in f.get("fever_student_ids") or []
                        ],
                        "when": self.clock_time(str(f["checked_at"])) if f else "",
                    }
                )
        return rows

    @action
    def add_class_check(
        self,
        class_id: str | None,
        slot: str | None,
        present: Any,
        absent: Any = 0,
        feverish: list[str] | None = None,
        fever_count: Any = None,
        note: str = "",
    ) -> None:
        """One 晨午检 of a class: present (and checked), absent, the students with a fever by
        name (their number, or more if some are not named)."""
        if not class_id or not slot:
            raise MissingInput("class_needed")
        named = list(dict.fromkeys(feverish or []))
        fields: dict[str, Any] = {
            "class_id": class_id,
            "checked_at": self._stamp(),
            "day": self.today().isoformat(),
            "slot": slot,
            "students_checked": present,
            "absent": absent if absent not in (None, "") else 0,
            "fever_count": len(named) if fever_count in (None, "") else fever_count,
            "fever_student_ids": named,
            "checked_by": self.user_id,
            "note": note,
        }
        validate_record(COLLECTIONS["temperature_checks"], fields)
        self._store().edit("temperature_checks", str(uuid.uuid4()), fields)
        self._done("ui.saved.check")

    # The absence register (因病缺勤登记, 病因追查) ----------------------------------------

    def absences_of(self, day: date | None = None) -> list[dict[str, Any]]:
        """The day's absences of the teacher's classes (today's when not given), those whose
        cause is still missing first, and earlier illness absences still missing one."""
        day = day or self.today()
        missing = set(self._causes_missing())
        rows = []
        for absence_id, f in self._records("absences").items():
            if f.get("day") != day.isoformat() and absence_id not in missing:
                continue
            rows.append(
                {
                    **f,
                    "absence_id": absence_id,
                    "student": self.name_of("students", f["student_id"]),
                    "class": self.name_of("classes", f["class_id"]),
                    "cause_missing": absence_id in missing,
                    "overdue": absence_id in missing and str(f.get("day")) < day.isoformat(),
                }
            )
        return sorted(rows, key=lambda r: (not r["cause_missing"], r["day"], r["student"]))

    def _causes_missing(self) -> list[str]:
        return causes_missing(self._records("absences").items(), self.today())

    @action
    def record_absence(
        self,
        student_id: str | None,
        kind: str | None,
        symptom: str | None = None,
        saw_doctor: bool | None = None,
        diagnosis: str = "",
        infectious: bool | None = None,
        note: str = "",
        absence_id: str | None = None,
    ) -> str:
        """Register a student absent today, or complete an absence's cause (`absence_id`)."""
        day = self.today().isoformat()
        if absence_id:
            kept = self._store().get("absences", absence_id)
            if kept is None:
                raise MissingInput("student_needed")
            student_id, day = str(kept.fields["student_id"]), str(kept.fields["day"])
        if not student_id:
            raise MissingInput("student_needed")
        if not kind:
            raise MissingInput("absence_kind_needed")
        student = self._store().get("students", student_id)
        if student is None:
            raise MissingInput("student_needed")
        ill = kind == "illness"
        fields: dict[str, Any] = {
            "student_id": student_id,
            "class_id": student.fields["class_id"],
            "day": day,
            "kind": kind,
            "symptom": symptom if ill else None,
            "saw_doctor": saw_doctor if ill else None,
            "diagnosis": diagnosis,
            "infectious": infectious if ill else None,
            "note": note,
        }
        validate_record(COLLECTIONS["absences"], fields)
        record_id = absence_id or str(uuid.uuid4())
        self._store().edit("absences", record_id, fields)
        self._done("ui.saved.absence")
        return record_id

    # What is missing today ----------------------------------------------------------------

    def teacher_missing(self) -> dict[str, int]:
        """What the teacher still has to do today: follow-ups, class checks, causes."""
        return {
            "follow_ups": sum(1 for s in self.sick_list() if s["needed_today"]),
            "checks": sum(1 for c in self.todays_checks() if not c["done"]),
            "causes": len(self._causes_missing()),
        }

    @action
    def refer(self, student_id: str | None, reason: str) -> None:
        if not student_id:
            raise MissingInput("student_needed")
        fields = {"student_id": student_id, "reason": reason}
        validate_record(COLLECTIONS["referrals"], fields)
        self._store().edit("referrals", str(uuid.uuid4()), fields)
        self._done("ui.saved.referral")

    def referrals(self) -> list[dict[str, Any]]:
        return [
            {
                "referral_id": rid,
                "student": self.name_of("students", f["student_id"]),
                "student_id": f["student_id"],
                "status": f.get("status", "new"),
                "reason": f.get("reason", ""),
                "declined_reason": f.get("declined_reason", ""),  # the counselor's words
            }
            for rid, f in sorted(self._records("referrals").items())
        ]
