"""Why a family needs attention (API.md), as SQL expressions evaluated for a page at once.

families owns the list but computes none of it: each reason is contributed by the domain that
records its facts (``no_visit_30d`` by visits; screenings and referrals add theirs as they are
built), with ``register_reason``, so families never imports a later domain (STYLE habit 16).
The registrations happen when ``create_app`` imports each domain's contributions module.

A reason is an expression over ``Family`` for the agency's "today" (a date in its time zone)
and that time zone, true when the family needs attention for that reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, or_, select

from hvcase.extensions import db
from hvcase.families import codes
from hvcase.families.models import Family

Reason = Callable[[date, ZoneInfo], ColumnElement[bool]]

REASONS: dict[str, Reason] = {}


def register_reason(name: str, reason: Reason) -> Reason:
    """Add ``reason`` under ``name``, one of API.md's attention codes. A name is contributed
    once: a second, different reason under the same name is a programming error, refused at
    start-up rather than letting the later import silently win. Returns ``reason``, so this
    can decorate it."""
    if name not in codes.ATTENTION_REASONS:
        raise ValueError(f"{name!r} is not an attention reason of API.md")
    if REASONS.get(name, reason) is not reason:
        raise ValueError(f"The attention reason {name!r} is already registered")
    REASONS[name] = reason
    return reason


def _names() -> list[str]:
    """The registered reasons in API.md's order, whatever order the domains registered them."""
    return [name for name in codes.ATTENTION_REASONS if name in REASONS]


def needs_attention(today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    """Any reason at all, for the ``needs_attention=true`` filter."""
    expressions = [REASONS[name](today, zone) for name in _names()]
    return or_(*expressions) if expressions else false()


def attention_of(
    family_ids: Sequence[uuid.UUID], today: date, zone: ZoneInfo
) -> dict[uuid.UUID, list[str]]:
    """The reasons of each family, in one query whatever the number of families."""
    if not family_ids:
        return {}
    names = _names()
    rows = db.session.execute(
        select(Family.id, *(REASONS[name](today, zone).label(name) for name in names)).where(
            Family.id.in_(family_ids)
        )
    )
    return {
        row[0]: [name for name, flag in zip(names, row[1:], strict=True) if flag] for row in rows
    }
