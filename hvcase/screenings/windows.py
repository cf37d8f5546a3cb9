"""Each child's required screening windows, kept as rows (``ScreeningWindow``) with whether
each is done, so that which families have a screening overdue or missed is one indexed query
for a whole page of families (the ``screening_overdue`` attention reason,
``needs_attention=true``).

The rows follow what they are computed from, in the same transaction: a child added, voided
or given another birth date or gestational age, and an agency's new ``full_term_weeks`` or
required intervals, recompute them at the flush (``watch``); a child's screening recorded,
changed or voided marks its windows done or not. The windows are those of
hvcase/screenings/schedule.py, the same the schedule endpoint shows. A database that had
children before this table existed fills it with ``flask --app hvcase refresh-screening-windows``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import delete, event, insert, select, update
from sqlalchemy.orm import Session

from hvcase.extensions import db
from hvcase.families.models import Child, Family
from hvcase.organisations.models import Agency
from hvcase.organisations.settings import effective
from hvcase.screenings.models import Screening, ScreeningWindow
from hvcase.screenings.schedule import schedule_items

# The agency settings naming each child instrument's required intervals.
REQUIRED = {"asq3": "asq_intervals", "asqse2": "asqse_intervals"}
WATCHED_CHILD = ("birth_date", "gestational_age_weeks", "gestational_age_days", "voided_at")
WATCHED_AGENCY = ("settings",)
CHUNK = 500


def required_intervals(settings: dict[str, Any], known: Iterable[str]) -> dict[str, list[int]]:
    """Instrument -> the intervals the agency requires (its settings, with the defaults)."""
    return {code: settings[name] for code, name in REQUIRED.items() if code in set(known)}


def schedule_of(
    child: Any,
    settings: dict[str, Any],
    instruments: dict,
    screenings: dict[str, dict[int, uuid.UUID]],
    today: date,
) -> list[dict[str, Any]]:
    """A child's schedule (``schedule_items``) under the agency's settings: its required
    intervals, full term and the instruments' windows. ``child``: anything with
    ``birth_date`` and the gestational age."""
    required = required_intervals(settings, instruments)
    return schedule_items(
        birth=child.birth_date,
        gestational_age_weeks=child.gestational_age_weeks,
        gestational_age_days=child.gestational_age_days,
        full_term_weeks=settings["full_term_weeks"],
        required_intervals=required,
        windows={code: instruments[code].windows for code in required},
        screenings=screenings,
        today=today,
    )


def window_rows(
    child: Any, family_id: uuid.UUID, settings: dict[str, Any], instruments: dict
) -> list[dict[str, Any]]:
    """The rows of one child (anything with ``id``, ``birth_date`` and the gestational age)."""
    items = schedule_of(child, settings, instruments, {}, child.birth_date)
    rows = [item for item in items if item["window_start"] is not None]
    if not rows:
        return []
    ages_out_on = max(item["window_end"] for item in rows)
    return [
        {
            "child_id": child.id,
            "family_id": family_id,
            "instrument": item["instrument"],
            "interval": item["interval"],
            "window_start": item["window_start"],
            "window_end": item["window_end"],
            "due_on": item["due_on"],
            "ages_out_on": ages_out_on,
        }
        for item in rows
    ]


def refresh(session: Session, child_ids: Iterable[uuid.UUID], instruments: dict) -> int:
    """Recompute the windows of these children (their rows replaced); the number of rows."""
    ids = list(dict.fromkeys(child_ids))
    # On the session's connection, not through the session: this also runs inside a flush
    # (``watch``), where a statement through the session would try to flush again.
    connection = session.connection()
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found = connection.execute(
            select(
                Child.id,
                Child.birth_date,
                Child.gestational_age_weeks,
                Child.gestational_age_days,
                Child.family_id,
                Agency.settings,
            )
            .join(Family, Family.id == Child.family_id)
            .join(Agency, Agency.id == Family.agency_id)
            .where(Child.id.in_(chunk), Child.voided_at.is_(None))
        ).all()
        rows = [
            row
            for child in found
            for row in window_rows(child, child.family_id, effective(child.settings), instruments)
        ]
        connection.execute(delete(ScreeningWindow).where(ScreeningWindow.child_id.in_(chunk)))
        if rows:
            connection.execute(insert(ScreeningWindow), rows)
            mark_done(session, chunk)
        written += len(rows)
    return written


def mark_done(session: Session, child_ids: Iterable[uuid.UUID] | None = None) -> None:
    """Set each window of these children (of every child: None) to its first live screening
    of that instrument and interval, or to None when there is none."""
    first = (
        select(Screening.id)
        .where(
            Screening.child_id == ScreeningWindow.child_id,
            Screening.instrument == ScreeningWindow.instrument,
            Screening.interval == ScreeningWindow.interval,
            Screening.voided_at.is_(None),
        )
        .order_by(Screening.administered_on, Screening.id)
        .limit(1)
        .correlate(ScreeningWindow)
        .scalar_subquery()
    )
    statement = update(ScreeningWindow).values(screening_id=first)
    if child_ids is not None:
        ids = list(child_ids)
        if not ids:
            return
        statement = statement.where(ScreeningWindow.child_id.in_(ids))
    session.connection().execute(statement)


def refresh_all(session: Session, instruments: dict, agency_id: uuid.UUID | None = None) -> int:
    """Every child's windows (of one agency, or of all)."""
    statement = select(Child.id)
    if agency_id is not None:
        statement = statement.join(Family, Family.id == Child.family_id).where(
            Family.agency_id == agency_id
        )
    return refresh(session, session.connection().scalars(statement).all(), instruments)


def watch(instruments_of: Any) -> None:
    """Recompute windows at each flush that changes what they are computed from.
    ``instruments_of()`` gives the current app's instruments."""

    @event.listens_for(Session, "after_flush")
    def _follow(session: Session, _context: Any) -> None:
        children: set[uuid.UUID] = set()
        agencies: set[uuid.UUID] = set()
        screened: set[uuid.UUID] = set()
        for record in [*session.new, *session.dirty]:
            if isinstance(record, Screening) and record.child_id is not None:
                screened.add(record.child_id)
            if isinstance(record, Child) and (
                record in session.new
                or any(_changed(session, record, name) for name in WATCHED_CHILD)
            ):
                children.add(record.id)
            elif (
                isinstance(record, Agency)
                and record not in session.new
                and any(_changed(session, record, name) for name in WATCHED_AGENCY)
            ):
                agencies.add(record.id)
        if not children and not agencies and not screened:
            return
        instruments = instruments_of()
        for agency_id in agencies:
            refresh_all(session, instruments, agency_id)
        if children:
            refresh(session, children, instruments)
        mark_done(session, screened - children)


def _changed(session: Session, record: Any, name: str) -> bool:
    history = db.inspect(record).attrs[name].history
    return history.has_changes()
