"""Constrained value types shared by every collection and wire message."""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints
from pydantic_core import PydanticCustomError

# Control characters are refused rather than stripped, so that what is kept is what was
# typed: PostgreSQL cannot store NUL (SQLite can, so a silent difference between the two),
# openpyxl refuses C0 controls in a cell (one such name broke every spreadsheet naming it),
# and a lone surrogate cannot be encoded at all. Tab and newline are kept in notes.
CONTROL_CHARACTERS = "control_characters"
# Unicode's categories Cc (U+0000 to U+001F, U+007F to U+009F) and Cs (the surrogates), as
# one search in C instead of a category looked up per character (a test holds the two
# equal over every code point).
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_WHITESPACE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse_controls(value: str, controls: re.Pattern[str]) -> str:
    found = controls.search(value)
    if found is not None:
        raise PydanticCustomError(
            CONTROL_CHARACTERS,
            "control characters are not allowed ({char})",
            {"char": f"U+{ord(found.group()):04X}"},
        )
    return value


def one_line(value: str) -> str:
    """A name or label: no control character at all, newline included."""
    return _refuse_controls(value, _CONTROLS)


def multi_line(value: str) -> str:
    """A note: tab and newline, no other control character."""
    return _refuse_controls(value, _CONTROLS_BUT_WHITESPACE)


OneLine = AfterValidator(one_line)
MultiLine = AfterValidator(multi_line)

# A device id is also the node part of every HLC the device makes, so it is kept to
# characters that cannot be confused with the clock's own separators' meaning.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAP_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
# The pattern already keeps every control character out of these two.
MapKey = Annotated[str, StringConstraints(pattern=MAP_KEY_PATTERN)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), OneLine
]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), OneLine
]
Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), OneLine
]
ShortNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), MultiLine]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), MultiLine]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000), MultiLine]
# Body temperature as a thermometer can read it on a living person.
TemperatureC = Annotated[float, Field(ge=34.0, le=43.0)]
FrequencyDays = Annotated[int, Field(ge=1, le=366)]
# The days a record or a parameter may name. Reports walk the calendar day by day with
# weeks of margin, and a date near year 1 or 9999 would run off it (a 500, not a 422).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def within_years(day: date) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "date_out_of_range",
            "a day from {first} to {last}",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return day


Day = Annotated[date, AfterValidator(within_years)]


# A moment is bounded the same way, by its day where it was written.
def moment_within_years(at: datetime) -> datetime:
    within_years(at.date())  # its own day: converting year 1 to UTC could overflow
    return at


Moment = Annotated[AwareDatetime, AfterValidator(moment_within_years)]
# Words a unit or a number is written in: one line.
OneLineText = Annotated[str, OneLine]
# A date as a map key (closed days): YYYY-MM-DD.
ISODateKey = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    AfterValidator(lambda key: within_years(date.fromisoformat(key)).isoformat()),
]
