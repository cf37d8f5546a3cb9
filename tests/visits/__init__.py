"""Visits over HTTP, and the rules behind them.

Shared helpers: a visit body as a tablet sends it, timestamps as the API writes them, and what
is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.visits.models import Visit


def stamp(moment: datetime) -> str:
    """A timestamp as the API writes it: RFC 3339 in UTC, with ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def hours_ago(hours: float) -> datetime:
    return utcnow().replace(microsecond=0) - timedelta(hours=hours)


def hours_ahead(hours: float) -> datetime:
    return utcnow().replace(microsecond=0) + timedelta(hours=hours)


def completed_visit(family: Any, **fields: Any) -> dict[str, Any]:
    """A visit the home visitor logs after the fact: yesterday, an hour long, at home."""
    return {
        "family_id": str(family.id),
        "status": "completed",
        "started_at": stamp(hours_ago(26)),
        "duration_minutes": 60,
        **fields,
    }


def scheduled_visit(family: Any, **fields: Any) -> dict[str, Any]:
    """A visit the home visitor books for next week."""
    return {
        "family_id": str(family.id),
        "status": "scheduled",
        "scheduled_for": stamp(hours_ahead(24 * 7)),
        **fields,
    }


def stored_visits() -> int:
    """How many visits are stored, voided ones included."""
    return db.session.scalar(select(func.count()).select_from(Visit))


def fresh_visit(visit_id: Any) -> Visit | None:
    """The visit as stored now (not as the test's session remembers it)."""
    db.session.expire_all()
    return db.session.get(Visit, uuid.UUID(str(visit_id)))
