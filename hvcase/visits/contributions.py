"""What visits contribute to a family (families' extension points, STYLE habit 16): the
``no_visit_30d`` attention reason, and the ``next_visit`` and ``last_visit`` of GET of one
family. Importing this module registers them; ``create_app`` imports it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, select

from hvcase.common.time import day_start, utcnow
from hvcase.extensions import db
from hvcase.families.attention import register_reason
from hvcase.families.details import register_details
from hvcase.families.models import Family
from hvcase.visits.models import Visit
from hvcase.visits.schemas import VisitSchema

VISIT_SUMMARY = VisitSchema(
    only=("id", "status", "scheduled_for", "started_at", "duration_minutes", "home_visitor_id")
)


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


def visit_details(family: Family) -> dict[str, Any]:
    """The family's next scheduled visit (the earliest still to come) and its last completed
    one, each as a short summary, or None."""
    live = (Visit.family_id == family.id, Visit.voided_at.is_(None))
    next_visit = db.session.scalar(
        select(Visit)
        .where(*live, Visit.status == "scheduled", Visit.scheduled_for >= utcnow())
        .order_by(Visit.scheduled_for, Visit.id)
        .limit(1)
    )
    last_visit = db.session.scalar(
        select(Visit)
        .where(*live, Visit.status == "completed")
        .order_by(Visit.started_at.desc(), Visit.id)
        .limit(1)
    )
    return {
        "next_visit": VISIT_SUMMARY.dump(next_visit) if next_visit else None,
        "last_visit": VISIT_SUMMARY.dump(last_visit) if last_visit else None,
    }


register_reason("no_visit_30d", no_visit_30d)
register_details(("next_visit", "last_visit"), visit_details)
