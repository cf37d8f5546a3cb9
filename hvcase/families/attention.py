"""Why a family needs attention (API.md), as SQL expressions evaluated for a page at once.

Each reason is an expression over ``Family`` for a given agency "today"; domains that record
the facts (visits, screenings, referrals) extend the definitions as they are built.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date, timedelta

from sqlalchemy import ColumnElement, select

from hvcase.extensions import db
from hvcase.families.models import Family


def no_visit_30d(today: date) -> ColumnElement[bool]:
    """Enrolled 30 days or more with no completed visit in the last 30 days. (Visits are
    recorded from the visits module on; until a family has one, none is completed.)"""
    return (Family.status == "enrolled") & (Family.enrolled_on <= today - timedelta(days=30))


REASONS: dict[str, Callable[[date], ColumnElement[bool]]] = {
    "no_visit_30d": no_visit_30d,
}


def needs_attention(today: date) -> ColumnElement[bool]:
    """Any reason at all, for the ``needs_attention=true`` filter."""
    expressions = [reason(today) for reason in REASONS.values()]
    condition = expressions[0]
    for expression in expressions[1:]:
        condition = condition | expression
    return condition


def attention_of(family_ids: Sequence[uuid.UUID], today: date) -> dict[uuid.UUID, list[str]]:
    """The reasons of each family, in one query whatever the number of families."""
    if not family_ids:
        return {}
    names = list(REASONS)
    rows = db.session.execute(
        select(Family.id, *(REASONS[name](today).label(name) for name in names)).where(
            Family.id.in_(family_ids)
        )
    )
    return {
        row[0]: [name for name, flag in zip(names, row[1:], strict=True) if flag] for row in rows
    }
