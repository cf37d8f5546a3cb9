"""Families, caregivers and children over HTTP, and the rules behind them.

Shared helpers: an enrollment body as a tablet sends it, row counts and the audit trail."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from hvcase.audit.models import AuditEvent
from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from tests.factories import agency_today


def enrollment_body(agency, **fields: Any) -> dict[str, Any]:
    """A household as a home visitor enrolls it: a mother (primary), a father, a baby."""
    today = agency_today(agency)
    body: dict[str, Any] = {
        "enrolled_on": str(today),
        "referral_source": "hospital",
        "preferred_language": "es",
        "address": {
            "street": "1200 Lake St",
            "city": "Minneapolis",
            "state": "MN",
            "postal_code": "55408",
            "county": "Hennepin",
        },
        "phone": "+16125550123",
        "email": "maria.gonzalez@example.org",
        "consent": {"sms_reminders": True, "email_reminders": False},
        "risk_factors": ["low_income"],
        "household_size": 3,
        "annual_income": 24000,
        "caregivers": [
            {
                "first_name": "María",
                "last_name": "González",
                "birth_date": "1998-04-02",
                "relationship": "mother",
                "primary": True,
                "education": "high_school_or_ged",
                "employment": "part_time",
                "insurance": "medicaid_chip",
            },
            {
                "first_name": "José",
                "last_name": "González",
                "birth_date": "1996-09-30",
                "relationship": "father",
                "primary": False,
            },
        ],
        "children": [
            {
                "first_name": "Lucía",
                "last_name": "González",
                "birth_date": str(today - timedelta(days=60)),
                "sex": "F",
                "gestational_age_weeks": 36,
                "gestational_age_days": 2,
                "birth_weight_grams": 2600,
            }
        ],
    }
    body.update(fields)
    return body


def caregiver_body(**fields: Any) -> dict[str, Any]:
    return {
        "first_name": "Rosa",
        "last_name": "Vega",
        "birth_date": "1970-05-05",
        "relationship": "grandparent",
        "primary": False,
        **fields,
    }


def child_body(**fields: Any) -> dict[str, Any]:
    return {"first_name": "Tomás", "last_name": "Vega", "birth_date": "2025-02-03", **fields}


def counts() -> tuple[int, int, int]:
    """(families, caregivers, children) stored."""
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Family, Caregiver, Child)
    )


def fresh(model: type, record_id: Any) -> Any:
    """The record as stored now (not as the test's session remembers it)."""
    db.session.expire_all()
    return db.session.get(model, uuid.UUID(str(record_id)))


def audit_events(action: str | None = None, **where: Any) -> list[AuditEvent]:
    """Audit events, oldest first, filtered by action and by columns (``user_id=…``)."""
    stmt = select(AuditEvent).order_by(AuditEvent.at, AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    for name, value in where.items():
        if name == "object_id" and value is not None:
            value = str(value)
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(stmt))


def days_ago(agency, days: int) -> date:
    return agency_today(agency) - timedelta(days=days)
