"""The class teacher: sick students, follow-ups, class checks and referrals."""

import uuid
from datetime import date
from typing import Any

from client.due_lists import sick_students
from client.state_core import StateCore, action


class TeacherState(StateCore):
    # Class teacher ----------------------------------------------------------------------

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
                "student": self.name_of("students", sick.case["student_id"]),
                "class": self.name_of("classes", sick.case["class_id"]),
                "needed_today": sick.state.needed_today,
                "missed": len(sick.state.missed),
                "symptoms": sick.case.get("symptoms", ""),
            }
            for sick in sick_students(self._store(), self.now())
        ]

    @action
    def open_case(self, student_id: str, onset_date: date, symptoms: str) -> str:
        student = self._store().get("students", student_id)
        assert student is not None
        case_id = str(uuid.uuid4())
        self._store().edit(
            "sick_cases",
            case_id,
            {
                "student_id": student_id,
                "class_id": student.fields["class_id"],
                "onset_date": onset_date.isoformat(),
                "opened_on": self.today().isoformat(),
                "symptoms": symptoms,
            },
        )
        return case_id

    @action
    def add_follow_up(self, case_id: str, method: str, **details: Any) -> str:
        follow_up_id = str(uuid.uuid4())
        fields = {"case_id": case_id, "visit_date": self.today().isoformat(), "method": method}
        fields.update({k: v for k, v in details.items() if v not in (None, "")})
        self._store().edit("follow_ups", follow_up_id, fields)
        return follow_up_id

    def follow_ups_of(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("follow_ups").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["visit_date"],
            reverse=True,
        )

    @action
    def close_case(self, case_id: str, returned_on: date | None = None) -> None:
        returned = (returned_on or self.today()).isoformat()
        self._store().edit("sick_cases", case_id, {"status": "closed", "returned_on": returned})

    @action
    def add_temperature_check(
        self, class_id: str, students_checked: int, fever_count: int, note: str = ""
    ) -> None:
        self._store().edit(
            "temperature_checks",
            str(uuid.uuid4()),
            {
                "class_id": class_id,
                "checked_at": self._stamp(),
                "students_checked": students_checked,
                "fever_count": fever_count,
                "note": note,
            },
        )

    @action
    def refer(self, student_id: str, reason: str) -> None:
        self._store().edit(
            "referrals", str(uuid.uuid4()), {"student_id": student_id, "reason": reason}
        )

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
