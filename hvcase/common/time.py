"""Time: UTC-aware datetimes inside, agency time zones only at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone``, as a UTC instant."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def today_in(timezone: str) -> date:
    """Today's date in an IANA time zone (an agency's "today")."""
    return datetime.now(ZoneInfo(timezone)).date()
