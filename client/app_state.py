"""The app's state and everything a person can do, as plain methods (no UI code).

Screens read from here and call its actions. Each role's actions live in their own module
(`cleaner_state`, `teacher_state`, `counselor_state`, `lead_state`) on top of
`state_core` (sign-in, sync, errors); `AppState` is all of them for the one person signed
in, and the shell shows only that role's screens.
"""

from client.cleaner_state import AreaRow, CleanerState
from client.counselor_state import CounselorState
from client.lead_state import LeadState
from client.state_core import MissingInput, StateCore, UserError, action
from client.teacher_state import TeacherState

__all__ = ["AppState", "AreaRow", "MissingInput", "StateCore", "UserError", "action"]


class AppState(CleanerState, TeacherState, CounselorState, LeadState):
    """Every role's state over one signed-in session."""
