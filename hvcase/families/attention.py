"""Why a family needs attention (API.md), as SQL expressions evaluated for a page at once.

Each reason is an expression over ``Family`` for the agency's "today" (a date in its time
zone); domains that record the facts (screenings, referrals) add their reasons as they are
built.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select

from hvcase.common.time import day_start
from hvcase.extensions import db
from hvcase.families.models import Family
from hvcase.visits.models import Visit


def no_visit_30d(today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    """Enrolled 30 days or more with no completed visit in the last 30 days (days in the
    agency's time zone, today included)."""
    since = today - timedelta(days=29)
    since_utc = day_start(since, zone)
    recent_visit = exists().where(
        Visit.family_id == Family.id,
        Visit.status == "completed",
        Visit.voided_at.is_(None),
        # occurs_at is started_at for a completed visit, and (family_id, occurs_at) is indexed.
        Visit.occurs_at >= since_utc,
    )
    return (
        (Family.status == "enrolled")
        & (Family.enrolled_on <= today - timedelta(days=30))
        & ~recent_visit
    )


REASONS: dict[str, Callable[[date, ZoneInfo], ColumnElement[bool]]] = {
    "no_visit_30d": no_visit_30d,
}


def needs_attention(today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    """Any reason at all, for the ``needs_attention=true`` filter."""
    expressions = [reason(today, zone) for reason in REASONS.values()]
    condition = expressions[0]
    for expression in expressions[1:]:
        condition = condition | expression
    return condition


def attention_of(
    family_ids: Sequence[uuid.UUID], today: date, zone: ZoneInfo
) -> dict[uuid.UUID, list[str]]:
    """The reasons of each family, in one query whatever the number of families."""
    if not family_ids:
        return {}
    names = list(REASONS)
    rows = db.session.execute(
        select(Family.id, *(REASONS[name](today, zone).label(name) for name in names)).where(
            Family.id.in_(family_ids)
        )
    )
    return {
        row[0]: [name for name, flag in zip(names, row[1:], strict=True) if flag] for row in rows
    }
