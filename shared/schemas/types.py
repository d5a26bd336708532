"""Constrained value types shared by every collection and wire message."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

# A device id is also the node part of every HLC the device makes, so it is kept to
# characters that cannot be confused with the clock's own separators' meaning.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAP_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
MapKey = Annotated[str, StringConstraints(pattern=MAP_KEY_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
ShortNote = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000)]
# Body temperature as a thermometer can read it on a living person.
TemperatureC = Annotated[float, Field(ge=34.0, le=43.0)]
FrequencyDays = Annotated[int, Field(ge=1, le=366)]
# A date as a map key (closed days): YYYY-MM-DD.
ISODateKey = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    AfterValidator(lambda key: date.fromisoformat(key).isoformat()),
]
