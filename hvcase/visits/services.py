"""The rules of a visit. Routes and /sync both call these; they flush, never commit."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload, selectinload

from hvcase.audit import services as audit
from hvcase.auth.models import User
from hvcase.common.errors import ValidationFailed
from hvcase.common.time import day_start, utcnow
from hvcase.extensions import db
from hvcase.families.models import Family
from hvcase.families.scope import visible_families
from hvcase.families.services import (
    agency_zone,
    apply,
    audit_write,
    deny_family,
    family_records,
    get_family_record,
    home_visitor_for,
    new_record_id,
    refuse_if_voided,
    void_record,
)
from hvcase.visits.codes import MAX_DURATION_MINUTES
from hvcase.visits.models import Visit

FIELDS = (
    "status",
    "scheduled_for",
    "started_at",
    "ended_at",
    "duration_minutes",
    "location",
    "participants",
    "topics",
    "missed_reason",
    "notes",
)
DEFAULTS: dict[str, Any] = {"location": "home", "participants": [], "topics": []}


def visits_for(user: User, args: dict[str, Any]) -> Select:
    """Visits of the caller's families, by the visit's time, newest first."""
    stmt = family_records(user, Visit, "visit", args, ("family_id", "home_visitor_id", "status"))
    zone = agency_zone(user)
    if "from_" in args:
        stmt = stmt.where(Visit.occurs_at >= day_start(args["from_"], zone))
    if "to" in args:
        stmt = stmt.where(Visit.occurs_at < day_start(args["to"] + timedelta(days=1), zone))
    # A visit with neither time (cancelled before it was booked) sorts last on every engine
    # (PostgreSQL would put it first, SQLite last).
    return stmt.order_by(Visit.occurs_at.desc().nulls_last(), Visit.id)


def get_visit(user: User, visit_id: uuid.UUID) -> Visit:
    return get_family_record(user, Visit, visit_id, "visit")


def visits_in_scope(user: User, visit_ids: list[uuid.UUID]) -> dict[uuid.UUID, Visit]:
    """The visits of these ids in the caller's scope, with their families and the families'
    members (what a correction's rules read), in one read whatever their number. An id
    missing from the answer is unknown or out of scope: ``get_visit`` tells which."""
    found = db.session.scalars(
        select(Visit)
        .join(Family, Family.id == Visit.family_id)
        .where(Visit.id.in_(visit_ids), visible_families(user))
        .options(
            joinedload(Visit.family).selectinload(Family.caregivers),
            joinedload(Visit.family).selectinload(Family.children),
        )
    )
    return {visit.id: visit for visit in found}


def families_for(user: User, family_ids: set[uuid.UUID]) -> dict[uuid.UUID, Family]:
    """The families of these ids in the caller's scope, with their members (the participants
    a visit may name), in one read whatever their number."""
    found = db.session.scalars(
        select(Family)
        .where(Family.id.in_(family_ids), visible_families(user))
        .options(selectinload(Family.caregivers), selectinload(Family.children))
    )
    return {family.id: family for family in found}


def _family_for(user: User, family_id: uuid.UUID) -> Family:
    family = families_for(user, {family_id}).get(family_id)
    if family is None:
        deny_family(family_id, 422)  # answered as a family that does not exist: a 422
        raise ValidationFailed({"family_id": ["No such family."]})
    return family


def check_visit(user: User, visit: Visit, family: Family, previous: datetime | None = None) -> None:
    """The rules of API.md over the visit as it will stand, computing the missing one of
    ``duration_minutes`` and ``ended_at`` of a completed visit. ``previous`` is the time an
    existing visit had before this write."""
    errors: dict[str, list[str]] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if visit.status == "scheduled" and visit.scheduled_for is None:
        fail("scheduled_for", "A scheduled visit needs scheduled_for.")
    if visit.status == "completed":
        if visit.started_at is None:
            fail("started_at", "A completed visit needs started_at.")
        elif visit.started_at > utcnow():
            fail("started_at", "A completed visit cannot start in the future.")
        if visit.duration_minutes is None and visit.ended_at is None:
            fail("duration_minutes", "A completed visit needs duration_minutes or ended_at.")
    if visit.started_at is not None and visit.ended_at is not None:
        minutes = (visit.ended_at - visit.started_at).total_seconds() / 60
        if minutes < 0:
            fail("ended_at", "A visit cannot end before it starts.")
        elif minutes > MAX_DURATION_MINUTES:
            fail("ended_at", "A visit cannot last more than 8 hours.")
        elif visit.duration_minutes is None:
            visit.duration_minutes = max(1, round(minutes))
        elif abs(visit.duration_minutes - minutes) > 1:
            fail("duration_minutes", "Does not match started_at and ended_at.")
    elif visit.started_at is not None and visit.duration_minutes is not None:
        visit.ended_at = visit.started_at + timedelta(minutes=visit.duration_minutes)
    members = {str(m.id) for m in family.caregivers + family.children if m.voided_at is None}
    strangers = [p for p in visit.participants if p not in members]
    if strangers:
        fail("participants", "Participants must be caregivers or children of the family.")
    visit.occurs_at = visit.started_at or visit.scheduled_for
    if family.discharged_on is not None and visit.occurs_at is not None:
        zone = agency_zone(user)
        day = visit.occurs_at.astimezone(zone).date()
        # No *new* visit after the discharge: one already dated that day (recorded before a
        # discharge given an earlier date) may still be corrected, and a tablet's replay of it
        # still changes nothing.
        kept = previous is not None and previous.astimezone(zone).date() == day
        if day > family.discharged_on and not kept:
            field = "started_at" if visit.started_at else "scheduled_for"
            fail(field, "The family was discharged before this date.")
    if errors:
        raise ValidationFailed(errors)


def _values(data: dict[str, Any], *, replace: bool) -> dict[str, Any]:
    values = {
        name: data.get(name, DEFAULTS.get(name)) if replace else data[name]
        for name in FIELDS
        if replace or name in data
    }
    if "participants" in values:
        values["participants"] = [str(p) for p in values["participants"] or []]
    if "location" in values and values["location"] is None:
        values["location"] = "home"
    if values.get("topics") is None and "topics" in values:
        values["topics"] = []
    return values


def _home_visitor(user: User, family: Family, requested: Any) -> uuid.UUID:
    """Who made the visit: the one named (checked as for a family), else the caller,
    whatever the role (API.md)."""
    return home_visitor_for(user, family.agency_id, requested) or user.id


def create_visit(user: User, data: dict[str, Any], visit_id: uuid.UUID | None = None) -> Visit:
    """A new visit: POST (the body's ``id``, if any, must be new) or PUT of an unused id."""
    family = _family_for(user, data["family_id"])
    visit = new_visit(user, family, new_record_id(Visit, data, visit_id), data)
    save_new_visits([visit])
    return visit


def new_visit(user: User, family: Family, visit_id: uuid.UUID, data: dict[str, Any]) -> Visit:
    """A new visit of ``family`` (in the caller's scope), built and checked by every rule;
    nothing is written (``save_new_visits`` does). /sync builds a batch's new visits this way
    and saves them together."""
    refuse_if_voided(family)
    visit = Visit(
        id=visit_id,
        family=family,
        home_visitor_id=_home_visitor(user, family, data.get("home_visitor_id")),
        **_values(data, replace=True),
    )
    check_visit(user, visit, family)
    return visit


def save_new_visits(visits: list[Visit]) -> None:
    """Insert visits built by ``new_visit`` (one statement for them all), each audited."""
    db.session.add_all(visits)
    db.session.flush()
    audit.record_each("create", "visit", [(v.id, v.family.agency_id) for v in visits])


def update_visit(user: User, visit: Visit, data: dict[str, Any], *, replace: bool) -> Visit:
    refuse_if_voided(visit)
    errors = {}
    if "family_id" in data and data["family_id"] != visit.family_id:
        errors["family_id"] = ["A visit's family cannot change."]
    if "id" in data and data["id"] != visit.id:
        errors["id"] = ["Must be the id of the path."]
    if errors:
        raise ValidationFailed(errors)
    values = _values(data, replace=replace)
    requested = data.get("home_visitor_id")
    if requested is not None and requested != visit.home_visitor_id:
        values["home_visitor_id"] = _home_visitor(user, visit.family, requested)
    if replace:
        # The computed one of duration and end is recomputed from what is sent.
        if "duration_minutes" not in data:
            values["duration_minutes"] = None
        if "ended_at" not in data:
            values["ended_at"] = None
    # Compared once the rules have run: a replace first clears the computed one of duration
    # and end, and the rules compute it back; that round trip is no change.
    before = {name: getattr(visit, name) for name in (*FIELDS, "home_visitor_id")}
    previous = visit.occurs_at
    with db.session.no_autoflush:
        apply(visit, values)
        check_visit(user, visit, visit.family, previous)
    changed = any(getattr(visit, name) != value for name, value in before.items())
    db.session.flush()
    if changed:
        audit_write("update", "visit", visit)
    return visit


def put_visit(
    user: User, visit_id: uuid.UUID, data: dict[str, Any], current: Visit | None
) -> tuple[Visit, bool]:
    """PUT: create the visit with this id (True), or replace ``current``, the visit with this
    id found in the caller's scope (False). ``current`` is None only for an id never used."""
    if current is None:
        return create_visit(user, data, visit_id), True
    return update_visit(user, current, data, replace=True), False


def void_visit(user: User, visit: Visit, reason: str | None) -> Visit:
    void_record(visit, reason, "visit", visit.family.agency_id)
    return visit
