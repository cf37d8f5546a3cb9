"""Time: UTC-aware datetimes inside, agency time zones only at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def today_in(timezone: str) -> date:
    """Today's date in an IANA time zone (an agency's "today")."""
    return datetime.now(ZoneInfo(timezone)).date()
