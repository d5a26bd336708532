"""The counselor's confidential caseload: cases opened from a referral or without one,
interventions, closing a case with its outcome, declining a referral with a reason."""

import uuid
from datetime import date
from typing import Any

from client.due_lists import caseload
from client.state_core import MissingInput, StateCore, action
from shared.schemas.vocabulary import CaseOrigin, RiskLevel, Role

# How a case comes without a referral (a referral's case is opened by accepting it).
DIRECT_ORIGINS = tuple(o.value for o in CaseOrigin if o is not CaseOrigin.REFERRAL)
FOUND_AT_MOST = 8  # students listed for a search: more asks for more letters
SEARCHED = ("name", "name_en", "student_no")


class CounselorState(StateCore):
    # Counselor --------------------------------------------------------------------------

    @action
    def note_case_opened(self, case_id: str) -> None:
        """The audit trail: who opened which counseling case, when, on which device. A
        synced record like any other, never changed or removed (the server refuses)."""
        if self.role is not Role.COUNSELOR:
            return
        self._store().edit(
            "case_views",
            str(uuid.uuid4()),
            {
                "case_id": case_id,
                "viewed_at": self._stamp(),
                "viewer_id": self.user_id,
                "device_id": self._store().device_id,
            },
        )

    def openings_of(self, case_id: str) -> list[dict[str, Any]]:
        """Who opened this case and when, newest first (the counselor's own as "me")."""
        rows = [
            {
                "when": self.clock_time(str(f["viewed_at"])),
                "at": str(f["viewed_at"]),
                "mine": str(f["viewer_id"]) == self.user_id,
                "device": str(f["device_id"]),
            }
            for f in self._records("case_views").values()
            if str(f["case_id"]) == case_id
        ]
        return sorted(rows, key=lambda r: r["at"], reverse=True)

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

    def case_info(self, case_id: str) -> dict[str, Any]:
        """What the case detail says besides the timeline: how it came (the referral's
        reason when a teacher referred), when it was opened, what was noted then."""
        case = self._records("counseling_cases").get(case_id, {})
        referral = self._records("referrals").get(str(case.get("referral_id")), {})
        return {
            "student": self.name_of("students", case.get("student_id")),
            "origin": str(case.get("origin") or CaseOrigin.REFERRAL),
            "opened_on": str(case.get("opened_on") or ""),
            "referral_reason": str(referral.get("reason", "")),
            "note": str(case.get("note", "")),
            "status": str(case.get("status", "open")),
            "outcome": str(case.get("outcome", "")),
        }

    def timeline(self, case_id: str) -> list[dict[str, Any]]:
        return sorted(
            (f for f in self._records("interventions").values() if str(f["case_id"]) == case_id),
            key=lambda f: f["held_on"],
            reverse=True,
        )

    def find_students(self, typed: str) -> tuple[list[tuple[str, str]], int]:
        """Students whose name (or English name, or number) holds what was typed: the
        first few (id, name) by name, and how many more there are."""
        words = typed.strip().casefold()
        if not words:
            return [], 0
        found = sorted(
            (
                (sid, self.name_of("students", sid))
                for sid, f in self._records("students").items()
                if any(words in str(f.get(k) or "").casefold() for k in SEARCHED)
            ),
            key=lambda s: (s[1], s[0]),
        )
        return found[:FOUND_AT_MOST], max(len(found) - FOUND_AT_MOST, 0)

    def _open_case_of(self, student_id: str) -> str | None:
        return next(
            (
                cid
                for cid, f in self._records("counseling_cases").items()
                if str(f.get("student_id")) == student_id and f.get("status", "open") == "open"
            ),
            None,
        )

    @action
    def open_counseling_case(
        self,
        student_id: str | None,
        origin: str | None,
        risk_level: str | None,
        next_contact: date | None,
        note: str = "",
    ) -> str:
        """A case without a referral: the student came, a parent asked, a walk-in, other.
        The counselor who opens it holds it; the first contact is theirs to set."""
        if not student_id or self._store().get("students", student_id) is None:
            raise MissingInput("student_needed")
        if origin not in DIRECT_ORIGINS:
            raise MissingInput("origin_needed")
        _checked_risk(risk_level)
        if next_contact is None:
            raise MissingInput("next_contact_needed")
        if self._open_case_of(student_id):
            raise MissingInput("case_already_open")
        case_id = str(uuid.uuid4())
        fields = {
            "student_id": student_id,
            "risk_level": risk_level,
            "origin": origin,
            "counselor_id": self.user_id,
            "opened_on": self.today().isoformat(),
            "next_follow_up": next_contact.isoformat(),
        }
        if note.strip():
            fields["note"] = note.strip()  # confidential: the lead's copy never holds it
        self._store().edit("counseling_cases", case_id, fields)
        return case_id

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
    def close_counseling_case(self, case_id: str, outcome: str) -> None:
        """Close with what came of it; the referral behind it reads closed for its teacher."""
        if not outcome.strip():
            raise MissingInput("outcome_needed")
        case = self._store().get("counseling_cases", case_id)
        assert case is not None
        self._store().edit(
            "counseling_cases", case_id, {"status": "closed", "outcome": outcome.strip()}
        )
        if case.fields.get("referral_id"):
            self._store().edit("referrals", str(case.fields["referral_id"]), {"status": "closed"})

    @action
    def accept_referral(
        self, referral_id: str, risk_level: str | None, next_contact: date | None = None
    ) -> str:
        """The counselor judges the risk on accepting: there is no level taken for granted."""
        referral = self._waiting(referral_id)
        _checked_risk(risk_level)
        case_id = str(uuid.uuid4())
        fields = {
            "student_id": referral["student_id"],
            "risk_level": risk_level,
            "referral_id": referral_id,
            "origin": CaseOrigin.REFERRAL.value,
            "counselor_id": self.user_id,
            "opened_on": self.today().isoformat(),
        }
        if next_contact:
            fields["next_follow_up"] = next_contact.isoformat()
        self._store().edit("counseling_cases", case_id, fields)
        self._store().edit("referrals", referral_id, {"status": "accepted"})
        return case_id

    @action
    def decline_referral(self, referral_id: str, reason: str) -> None:
        """Declined with a reason the referring teacher reads on their phone."""
        self._waiting(referral_id)
        if not reason.strip():
            raise MissingInput("decline_reason_needed")
        self._store().edit(
            "referrals", referral_id, {"status": "declined", "declined_reason": reason.strip()}
        )

    def _waiting(self, referral_id: str) -> dict[str, Any]:
        referral = self._records("referrals").get(referral_id)
        if referral is None or referral.get("status", "new") != "new":
            raise MissingInput("referral_not_waiting")  # another counselor got there first
        return referral

    # What the counselor must not miss ---------------------------------------------------

    def crisis_cases(self) -> list[dict[str, str]]:
        """Open cases at crisis level, for the banner on every counselor screen; empty for
        every other role (the lead's copy of the cases is for counts only)."""
        if self.role is not Role.COUNSELOR:
            return []
        return [
            {"case_id": c["case_id"], "student": c["student"]}
            for c in self.caseload()
            if c["risk_level"] == RiskLevel.CRISIS
        ]

    def due_today(self) -> dict[str, int]:
        """Contacts due today or already overdue, and referrals waiting for an answer."""
        today = self.today()
        cases = [c for c in self.caseload() if c["due_on"] <= today]
        waiting = [
            r for r in self._records("referrals").values() if r.get("status", "new") == "new"
        ]
        return {
            "due": len(cases),
            "overdue": sum(1 for c in cases if c["overdue"]),
            "new_referrals": len(waiting),
        }


def _checked_risk(risk_level: str | None) -> None:
    if risk_level not in {r.value for r in RiskLevel}:
        raise MissingInput("risk_needed")
