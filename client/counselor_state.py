"""The counselor's confidential caseload: cases, interventions, referrals accepted."""

import uuid
from datetime import date
from typing import Any

from client.due_lists import caseload
from client.state_core import StateCore, action


class CounselorState(StateCore):
    # Counselor --------------------------------------------------------------------------

    def caseload(self) -> list[dict[str, Any]]:
        rows = []
        for due in caseload(self._store(), self.now()):
            case = self._store().get("counseling_cases", due.case_id)
            rows.append(
                {
                    "case_id": due.case_id,
                    "student": self.name_of("students", case.fields["student_id"]) if case else "",
                    "risk_level": due.risk_level,
                    "due_on": due.due_on,
                    "overdue": due.overdue,
                }
            )
        return rows

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("interventions").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["held_on"],
            reverse=True,
        )

    @action
    def add_intervention(
        self,
        case_id: str,
        kind: str,
        note: str,
        risk_level: str | None = None,
        next_follow_up: date | None = None,
    ) -> None:
        fields: dict[str, Any] = {
            "case_id": case_id,
            "held_on": self.today().isoformat(),
            "kind": kind,
            "note": note,
        }
        if risk_level:
            fields["risk_level"] = risk_level
        self._store().edit("interventions", str(uuid.uuid4()), fields)
        changes: dict[str, Any] = {}
        if risk_level:
            changes["risk_level"] = risk_level
        if next_follow_up:
            changes["next_follow_up"] = next_follow_up.isoformat()
        if changes:
            self._store().edit("counseling_cases", case_id, changes)

    @action
    def set_risk(self, case_id: str, risk_level: str) -> None:
        self._store().edit("counseling_cases", case_id, {"risk_level": risk_level})

    @action
    def accept_referral(self, referral_id: str, risk_level: str = "medium") -> str:
        referral = self._store().get("referrals", referral_id)
        assert referral is not None
        case_id = str(uuid.uuid4())
        self._store().edit(
            "counseling_cases",
            case_id,
            {
                "student_id": referral.fields["student_id"],
                "risk_level": risk_level,
                "referral_id": referral_id,
                "opened_on": self.today().isoformat(),
            },
        )
        self._store().edit("referrals", referral_id, {"status": "accepted"})
        return case_id
