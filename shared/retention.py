"""How long closed cases stay on phones: one rule for the server, which moves them out of
every phone's scope (`server.retention`), and the phones, which say so.

A case's closing time is the clock of its `status` field when it was set to closed: the
moment a person closed it, on whatever device, not when the server heard of it. A case
reopened gets a newer clock and an open status, so it is no longer closed at all.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.hlc import InvalidHLC, parse

DEFAULT_DAYS_ON_PHONES = 30
CLOSED = "closed"


def days_on_phones(settings: Mapping[str, Any]) -> int:
    """The school's setting (`closed_cases_on_phones_days`), or the default."""
    days = settings.get("closed_cases_on_phones_days")
    return days if isinstance(days, int) and days > 0 else DEFAULT_DAYS_ON_PHONES


def closed_at(fields: Mapping[str, Any], field_hlc: Mapping[str, str]) -> datetime | None:
    """When a closed case was closed (None: it is open, or its status has no clock)."""
    if fields.get("status") != CLOSED:
        return None
    try:
        stamp = parse(field_hlc.get("status", ""))
    except InvalidHLC:
        return None
    return datetime.fromtimestamp(stamp.millis / 1000, UTC)


def closed_before(
    fields: Mapping[str, Any], field_hlc: Mapping[str, str], now: datetime, days: int
) -> bool:
    """Whether the case has been closed for more than `days` days at `now`."""
    when = closed_at(fields, field_hlc)
    return when is not None and now - when > timedelta(days=days)
