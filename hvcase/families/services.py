"""The rules of the family record. Routes and /sync both call these; they flush, never commit."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import selectinload

from hvcase.audit import services as audit
from hvcase.auth.models import User
from hvcase.common.errors import Conflict, Forbidden, NotFound, StaleVersion, ValidationFailed
from hvcase.common.records import held_for_write
from hvcase.common.text import fold, name_key
from hvcase.common.time import today_in, utcnow
from hvcase.common.versioning import etag_of
from hvcase.extensions import db
from hvcase.families import attention, details
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.families.policy import VOID_FAMILY, record_denied
from hvcase.families.scope import visible_families

FAMILY_FIELDS = (
    "enrolled_on",
    "referral_source",
    "preferred_language",
    "address",
    "phone",
    "email",
    "consent",
    "risk_factors",
    "household_size",
    "annual_income",
)
CAREGIVER_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "relationship",
    "primary",
    "education",
    "employment",
    "insurance",
)
CHILD_FIELDS = (
    "first_name",
    "last_name",
    "birth_date",
    "sex",
    "gestational_age_weeks",
    "gestational_age_days",
    "birth_weight_grams",
    "enrolled",
)
DEFAULTS: dict[str, Any] = {"risk_factors": [], "enrolled": True}


def no_consent() -> dict[str, bool]:
    """A family's consent when none was given: every channel refused, stated in full so that
    a tablet can send back what it received (the consent object needs both fields)."""
    return {"sms_reminders": False, "email_reminders": False}


def agency_zone(user: User) -> ZoneInfo:
    return ZoneInfo(user.agency.timezone if user.agency else "UTC")


def agency_today(user: User) -> date:
    return today_in(user.agency.timezone if user.agency else "UTC")


def apply(record: Any, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True when anything changed (versions count changes)."""
    changed = False
    for name, value in values.items():
        attribute = "relationship_to_child" if name == "relationship" else name
        if getattr(record, attribute) != value:
            setattr(record, attribute, value)
            changed = True
    if changed and isinstance(record, Caregiver | Child):
        record.name_key = name_key(record.first_name, record.last_name)
    return changed


def refuse_if_voided(record: Any) -> None:
    if record.voided_at is not None:
        raise Conflict("This record is voided; it cannot be edited.")


def audit_write(action: str, object_type: str, record: Any) -> None:
    """The audit event of a write (``create``, ``update``) of a record of family data."""
    audit.record(
        action,
        object_type=object_type,
        object_id=record.id,
        object_agency_id=record.family.agency_id,
    )


def void_record(record: Any, reason: str | None, object_type: str, agency_id: Any) -> None:
    """Void a record of family data once, audited; voiding it again changes nothing."""
    if record.voided_at is None:
        record.voided_at = utcnow()
        record.void_reason = reason
        db.session.flush()
        audit.record(
            "void",
            object_type=object_type,
            object_id=record.id,
            object_agency_id=agency_id,
            detail={"reason": reason},
        )


# Reading -----------------------------------------------------------------------------------


def deny_family(family_id: uuid.UUID, status: int = 404) -> None:
    """Audit a family id the caller asked for outside their scope (``denied``), the same
    whether or not it exists; the event names the owning agency when there is one, and the
    status the request is answered with (404 for a path, 422 for a body's ``family_id``)."""
    owner = db.session.scalar(select(Family.agency_id).where(Family.id == family_id))
    record_denied("family", family_id, status, owner)


def get_family(
    user: User, family_id: uuid.UUID, *, read: bool = False, write: bool = False
) -> Family:
    """The family, if in the caller's scope; else 404 (audited as ``denied``). To ``write``
    it, its row is held until the commit (as the write pipeline's ``lock`` holds it), so
    concurrent writes of one family apply one after the other, each on the one before."""
    statement = (
        select(Family)
        .where(Family.id == family_id, visible_families(user))
        .options(selectinload(Family.caregivers), selectinload(Family.children))
    )
    if write:
        statement = held_for_write(statement, Family).execution_options(populate_existing=True)
    family = db.session.scalar(statement)
    if family is None:
        deny_family(family_id)
        raise NotFound("No such family.")
    if read:
        audit.record(
            "read", object_type="family", object_id=family.id, object_agency_id=family.agency_id
        )
    family.attention = attention.attention_of(
        [family.id], agency_today(user), agency_zone(user)
    ).get(family.id, [])
    return family


def family_details(family: Family) -> Family:
    """The fields GET of one family adds (its next and last visit, screenings due, open
    referrals), each filled by the domain that owns it (``details``)."""
    return details.fill(family)


def families_for(user: User, args: dict[str, Any]) -> Select:
    """The caller's families, filtered, ordered by primary caregiver's last name then id."""
    today = agency_today(user)
    primary_last_name = (
        select(Caregiver.last_name)
        .where(
            Caregiver.family_id == Family.id,
            Caregiver.primary.is_(True),
            Caregiver.voided_at.is_(None),
        )
        .order_by(Caregiver.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = select(Family).where(visible_families(user))
    if not args.get("include_voided"):
        stmt = stmt.where(Family.voided_at.is_(None))
    if "status" in args:
        stmt = stmt.where(Family.status == args["status"])
    if "home_visitor_id" in args:
        stmt = stmt.where(Family.home_visitor_id == args["home_visitor_id"])
    if args.get("needs_attention") is not None:
        condition = attention.needs_attention(today, agency_zone(user))
        stmt = stmt.where(condition if args["needs_attention"] else ~condition)
    if args.get("q"):
        stmt = stmt.where(_matches(args["q"]))
    audit.record(
        "search",
        object_type="family",
        detail={k: str(v) for k, v in args.items() if k not in ("page", "per_page")},
    )
    return stmt.options(selectinload(Family.caregivers), selectinload(Family.children)).order_by(
        func.lower(primary_last_name), Family.id
    )


def _matches(q: str) -> Any:
    folded = fold(q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{folded}%"
    conditions = [
        exists().where(
            Caregiver.family_id == Family.id,
            Caregiver.voided_at.is_(None),
            Caregiver.name_key.like(pattern, escape="\\"),
        ),
        exists().where(
            Child.family_id == Family.id,
            Child.voided_at.is_(None),
            Child.name_key.like(pattern, escape="\\"),
        ),
    ]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 4:
        conditions.append(Family.phone.like(f"%{digits}%"))
    return or_(*conditions)


def with_attention(user: User, families: list[Family]) -> list[Family]:
    reasons = attention.attention_of(
        [f.id for f in families], agency_today(user), agency_zone(user)
    )
    for family in families:
        family.attention = reasons.get(family.id, [])
    return families


# Enrollment --------------------------------------------------------------------------------


def home_visitor_for(user: User, agency_id: uuid.UUID, requested: Any) -> uuid.UUID | None:
    """The family's home visitor: named, or the caller when a home visitor or supervisor."""
    if requested is None:
        return user.id if user.role in ("home_visitor", "supervisor") else None
    if user.role == "home_visitor" and requested != user.id:
        raise ValidationFailed({"home_visitor_id": ["A home visitor may name only themself."]})
    check_assignable(agency_id, requested)
    return requested


def check_assignable(agency_id: uuid.UUID, home_visitor_id: uuid.UUID) -> None:
    staff = db.session.get(User, home_visitor_id)
    if (
        staff is None
        or not staff.active
        or staff.agency_id != agency_id
        or staff.role not in ("home_visitor", "supervisor")
    ):
        raise ValidationFailed(
            {"home_visitor_id": ["Must name an active home visitor or supervisor of the agency."]}
        )


def _family_values(data: dict[str, Any], *, replace: bool) -> dict[str, Any]:
    values = {
        name: data.get(name, DEFAULTS.get(name)) if replace else data[name]
        for name in FAMILY_FIELDS
        if replace or name in data
    }
    if replace or "pregnancy" in data:
        pregnancy = data.get("pregnancy")
        values["expected_delivery_date"] = (
            pregnancy["expected_delivery_date"] if pregnancy else None
        )
    if values.get("consent") is None and (replace or "consent" in data):
        values["consent"] = no_consent()
    return values


def _member_values(data: dict[str, Any], fields: tuple[str, ...], *, replace: bool) -> dict:
    return {
        name: data.get(name, DEFAULTS.get(name)) if replace else data[name]
        for name in fields
        if replace or name in data
    }


def _check_new_id(model: type, record_id: Any, path: str) -> None:
    if record_id is not None and db.session.get(model, record_id) is not None:
        raise Conflict(f"{path}: a record with this id exists already.")


def new_record_id(model: type, data: dict[str, Any], record_id: uuid.UUID | None) -> uuid.UUID:
    """The id of a new record of family data: the path's (a PUT of an unused id), else the
    body's, which must be new (409), else a fresh one."""
    if record_id is not None:
        return record_id
    record_id = data.get("id") or uuid.uuid4()
    _check_new_id(model, record_id, "id")
    return record_id


def check_household(family: Family, today: date, paths: dict[Any, str] | None = None) -> None:
    """The rules over the whole household: one primary caregiver; no birth date in the future;
    no child born before a caregiver; enrollment not in the future."""
    paths = paths or {}
    errors: dict[str, list[str]] = {}
    if family.enrolled_on > today:
        errors.setdefault("enrolled_on", []).append("Cannot be in the future.")
    caregivers = [c for c in family.caregivers if c.voided_at is None]
    children = [c for c in family.children if c.voided_at is None]
    if caregivers and sum(1 for c in caregivers if c.primary) != 1:
        errors.setdefault(paths.get("caregivers", "caregivers"), []).append(
            "Exactly one caregiver is primary."
        )
    for person in caregivers + children:
        if person.birth_date is not None and person.birth_date > today:
            errors.setdefault(paths.get(person, "") + "birth_date", []).append(
                "Cannot be in the future."
            )
    oldest_allowed = max((c.birth_date for c in caregivers if c.birth_date), default=None)
    for child in children:
        if oldest_allowed and child.birth_date < oldest_allowed:
            errors.setdefault(paths.get(child, "") + "birth_date", []).append(
                "A child cannot be born before a caregiver."
            )
    if errors:
        raise ValidationFailed(errors)


def find_duplicate(
    agency_id: uuid.UUID,
    first: str,
    last: str,
    birth_date: date | None,
    exclude: uuid.UUID | None = None,
) -> Family | None:
    """An enrolled family of the agency whose primary caregiver has this name and birth date."""
    if birth_date is None:
        return None
    stmt = (
        select(Family)
        .join(Caregiver, Caregiver.family_id == Family.id)
        .where(
            Family.agency_id == agency_id,
            Family.status == "enrolled",
            Family.voided_at.is_(None),
            Caregiver.primary.is_(True),
            Caregiver.voided_at.is_(None),
            Caregiver.name_key == name_key(first, last),
            Caregiver.birth_date == birth_date,
        )
        .limit(1)
    )
    if exclude is not None:
        stmt = stmt.where(Family.id != exclude)
    return db.session.scalar(stmt)


def enroll(user: User, data: dict[str, Any], family_id: uuid.UUID | None = None) -> Family:
    """Enroll a household with its caregivers, children and pregnancy, all or nothing."""
    agency_id = data.get("agency_id") or user.agency_id
    if agency_id != user.agency_id:
        raise ValidationFailed({"agency_id": ["Families are enrolled in your own agency."]})
    family_id = family_id or data.get("id") or uuid.uuid4()
    _check_new_id(Family, data.get("id"), "id")
    home_visitor_id = home_visitor_for(user, agency_id, data.get("home_visitor_id"))
    caregivers_data = data.get("caregivers") or []
    if not caregivers_data:
        raise ValidationFailed({"caregivers": ["At least one caregiver is required."]})
    today = agency_today(user)
    family = Family(
        id=family_id,
        agency_id=agency_id,
        home_visitor_id=home_visitor_id,
        status="enrolled",
        **_family_values(data, replace=True),
    )
    paths: dict[Any, str] = {}
    seen: set[uuid.UUID] = set()
    for kind, model, fields, items in (
        ("caregivers", Caregiver, CAREGIVER_FIELDS, caregivers_data),
        ("children", Child, CHILD_FIELDS, data.get("children") or []),
    ):
        for index, item in enumerate(items):
            path = f"{kind}.{index}."
            if item.get("family_id") not in (None, family_id):
                raise ValidationFailed({path + "family_id": ["Must be this family's id."]})
            member_id = item.get("id") or uuid.uuid4()
            if member_id in seen:
                raise ValidationFailed({path + "id": ["Listed twice."]})
            seen.add(member_id)
            _check_new_id(model, item.get("id"), path + "id")
            member = model(id=member_id, **_renamed(_member_values(item, fields, replace=True)))
            member.name_key = name_key(member.first_name, member.last_name)
            getattr(family, kind).append(member)
            paths[member] = path
    check_household(family, today, paths)
    primary = family.primary_caregiver
    if primary is not None and not data.get("confirm_not_duplicate"):
        twin = find_duplicate(agency_id, primary.first_name, primary.last_name, primary.birth_date)
        if twin is not None:
            visible = db.session.scalar(
                select(Family.id).where(Family.id == twin.id, visible_families(user))
            )
            detail = "A family of this agency has a primary caregiver with this name and birth date"
            detail += f" (family {twin.id})." if visible else "."
            raise Conflict(detail + " Send confirm_not_duplicate: true to enroll anyway.")
    db.session.add(family)
    db.session.flush()  # the family's row first: episodes and assignments refer to it
    db.session.add(Enrollment(family_id=family_id, enrolled_on=family.enrolled_on))
    if home_visitor_id:
        db.session.add(
            Assignment(
                family_id=family_id,
                home_visitor_id=home_visitor_id,
                assigned_by=user.id,
                note="enrollment",
            )
        )
    db.session.flush()
    audit.record("enroll", object_type="family", object_id=family.id, object_agency_id=agency_id)
    family.attention = attention.attention_of([family.id], today, agency_zone(user)).get(
        family.id, []
    )
    return family


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    if "relationship" in values:
        values["relationship_to_child"] = values.pop("relationship")
    return values


def _check_fixed(family: Family, data: dict[str, Any]) -> None:
    """agency_id and home_visitor_id never change through PUT or PATCH."""
    errors = {}
    if "agency_id" in data and data["agency_id"] != family.agency_id:
        errors["agency_id"] = ["A family's agency cannot change."]
    if "home_visitor_id" in data and data["home_visitor_id"] != family.home_visitor_id:
        errors["home_visitor_id"] = ["Reassign through POST /families/{id}/assignment."]
    if errors:
        raise ValidationFailed(errors)


def _sync_current_episode(family: Family) -> None:
    episode = current_episode(family)
    if episode is not None and episode.enrolled_on != family.enrolled_on:
        episode.enrolled_on = family.enrolled_on


def update_family(user: User, family: Family, data: dict[str, Any]) -> Family:
    """PATCH: the family-level fields sent."""
    refuse_if_voided(family)
    _check_fixed(family, data)
    changed = apply(family, _family_values(data, replace=False))
    check_household(family, agency_today(user))
    _check_episode_dates(family)
    _sync_current_episode(family)
    db.session.flush()
    if changed:
        audit.record(
            "update", object_type="family", object_id=family.id, object_agency_id=family.agency_id
        )
    return with_attention(user, [family])[0]


def refuse_stale_members(family: Family, data: dict[str, Any]) -> None:
    """Refuse a family change (``StaleVersion``: a 412, a ``conflict`` in /sync) when a listed
    caregiver or child carries a ``version`` other than its stored one and would change: the
    change was made on a copy someone has since edited, and applying it would silently undo
    their edit (an office's correction of a name, overwritten by a tablet's older copy).

    - No ``version`` (or null): the member is upserted as sent.
    - Fields identical to the stored member: no conflict whatever the version, so a replay or
      a repeat changes nothing and answers as before.
    - A version newer than the stored one is refused too: the server never gave it, so the
      copy it names is not one the server can vouch for.
    - A member the family does not hold yet is created as sent, whatever ``version`` it
      carries: there is no stored record for the change to overwrite.
    """
    errors: dict[str, list[str]] = {}
    for kind, fields in (("caregivers", CAREGIVER_FIELDS), ("children", CHILD_FIELDS)):
        held = {member.id: member for member in getattr(family, kind)}
        for index, item in enumerate(data.get(kind) or []):
            member = held.get(item.get("id"))
            sent = item.get("version")
            if member is None or sent is None or sent == member.version:
                continue
            values = _renamed(_member_values(item, fields, replace=True))
            if any(getattr(member, name) != value for name, value in values.items()):
                said = "Changed since" if sent < member.version else "Never given:"
                errors[f"{kind}.{index}.version"] = [
                    f"{said} version {sent}; it is at version {member.version}."
                ]
    if errors:
        listed = ", ".join(path.removesuffix(".version") for path in errors)
        raise StaleVersion(
            f"These members are no longer at the versions sent: {listed}. Nothing was "
            "changed; fetch the family again and redo the change on what it holds now.",
            errors=errors,
            headers={"ETag": etag_of(family)},
        )


def put_family(
    user: User, family_id: uuid.UUID, data: dict[str, Any], current: Family | None
) -> tuple[Family, bool]:
    """PUT: create with this id (True), or replace the family-level fields of ``current`` (the
    family with this id in the caller's scope; None only for an id never used) and upsert the
    listed caregivers and children (False).

    A listed member whose ``version`` is stale refuses the whole change with ``StaleVersion``
    (``refuse_stale_members``). API.md puts ``If-Match`` (412) before the body (422), but a
    member's version is known only from the body: so the body's schema is checked first (a
    malformed body is a 422), then the members' versions (412) before any rule of the
    household (422) or the family's state (409), as ``If-Match`` comes before those."""
    if current is None:
        return enroll(user, data, family_id), True
    family = current
    refuse_stale_members(family, data)
    refuse_if_voided(family)
    _check_fixed(family, data)
    changed = apply(family, _family_values(data, replace=True))
    paths: dict[Any, str] = {"caregivers": "caregivers"}
    for kind, model, fields in (
        ("caregivers", Caregiver, CAREGIVER_FIELDS),
        ("children", Child, CHILD_FIELDS),
    ):
        current = {m.id: m for m in getattr(family, kind)}
        for index, item in enumerate(data.get(kind) or []):
            path = f"{kind}.{index}."
            if item.get("id") is None:
                raise ValidationFailed(
                    {path + "id": ["Required in a PUT (it keeps replays safe)."]}
                )
            if item.get("family_id") not in (None, family.id):
                raise ValidationFailed({path + "family_id": ["Must be this family's id."]})
            member = current.get(item["id"])
            values = _member_values(item, fields, replace=True)
            if member is None:
                _check_new_id(model, item["id"], path + "id")
                member = model(id=item["id"], **_renamed(values))
                member.name_key = name_key(member.first_name, member.last_name)
                getattr(family, kind).append(member)
                changed = True
            else:
                refuse_if_voided(member)
                changed = apply(member, values) or changed
            paths[member] = path
    check_household(family, agency_today(user), paths)
    _check_episode_dates(family)
    _sync_current_episode(family)
    db.session.flush()
    if changed:
        audit.record(
            "update", object_type="family", object_id=family.id, object_agency_id=family.agency_id
        )
    return with_attention(user, [family])[0], False


def may_write_family(user: User, op: str, family: Family | None) -> None:
    """Who may write a family: voiding it is for supervisors and agency admins only (403, the
    refusal audited as ``denied``); any role with family data may do the rest."""
    if op == "void" and user.role not in VOID_FAMILY:
        if family is None:
            record_denied("family")
        else:
            record_denied("family", family.id, 403, family.agency_id)
        raise Forbidden("Home visitors may not void a family.")


def void_family(user: User, family: Family, reason: str | None) -> Family:
    """Void a family (who may: ``may_write_family``, the pipeline's role step)."""
    void_record(family, reason, "family", family.agency_id)
    return with_attention(user, [family])[0]


# Assignment, discharge, re-enrollment ------------------------------------------------------


def assign(user: User, family: Family, home_visitor_id: uuid.UUID, note: str | None) -> Family:
    refuse_if_voided(family)
    check_assignable(family.agency_id, home_visitor_id)
    if family.home_visitor_id != home_visitor_id:
        family.home_visitor_id = home_visitor_id
        db.session.add(
            Assignment(
                family_id=family.id, home_visitor_id=home_visitor_id, assigned_by=user.id, note=note
            )
        )
        db.session.flush()
        audit.record(
            "assign",
            object_type="family",
            object_id=family.id,
            object_agency_id=family.agency_id,
            detail={"home_visitor_id": str(home_visitor_id)},
        )
    return with_attention(user, [family])[0]


def _audit_listing(family: Family, collection: str, **filters: Any) -> None:
    """A list of a family's records is family data read: one ``search`` event with its
    filters, on the family."""
    audit.record(
        "search",
        object_type="family",
        object_id=family.id,
        object_agency_id=family.agency_id,
        detail={"collection": collection, **{k: str(v) for k, v in filters.items()}},
    )


def assignments(family: Family) -> Select:
    _audit_listing(family, "assignments")
    return (
        select(Assignment)
        .where(Assignment.family_id == family.id)
        .order_by(Assignment.assigned_at.desc(), Assignment.id)
    )


def current_episode(family: Family) -> Enrollment | None:
    return db.session.scalar(
        select(Enrollment)
        .where(Enrollment.family_id == family.id)
        .order_by(Enrollment.enrolled_on.desc(), Enrollment.created_at.desc())
        .limit(1)
    )


def _check_episode_dates(family: Family) -> None:
    previous = db.session.scalar(
        select(func.max(Enrollment.discharged_on)).where(
            Enrollment.family_id == family.id, Enrollment.enrolled_on < family.enrolled_on
        )
    )
    if previous is not None and family.enrolled_on < previous:
        raise ValidationFailed({"enrolled_on": ["Cannot be before the previous discharge."]})
    if family.discharged_on is not None and family.discharged_on < family.enrolled_on:
        raise ValidationFailed({"enrolled_on": ["Cannot be after the discharge date."]})


def discharge(user: User, family: Family, data: dict[str, Any]) -> Family:
    when = data["discharged_on"]
    if when > agency_today(user):  # the body first (422), then the state (409)
        raise ValidationFailed({"discharged_on": ["Cannot be in the future."]})
    refuse_if_voided(family)
    if family.status == "discharged":
        raise Conflict("The family is already discharged.")
    if when < family.enrolled_on:
        raise ValidationFailed({"discharged_on": ["Cannot be before the enrollment date."]})
    family.status = "discharged"
    family.discharged_on = when
    family.discharge_reason = data["reason"]
    episode = current_episode(family)
    if episode is not None:
        episode.discharged_on = when
        episode.discharge_reason = data["reason"]
        episode.discharge_note = data.get("note")
    db.session.flush()
    audit.record(
        "discharge",
        object_type="family",
        object_id=family.id,
        object_agency_id=family.agency_id,
        detail={"reason": data["reason"]},
    )
    return with_attention(user, [family])[0]


def episodes(family: Family) -> Select:
    """Newest first: by enrollment date, then (a family back the same day) by creation."""
    _audit_listing(family, "enrollments")
    return (
        select(Enrollment)
        .where(Enrollment.family_id == family.id)
        .order_by(Enrollment.enrolled_on.desc(), Enrollment.created_at.desc(), Enrollment.id)
    )


def reenroll(user: User, family: Family, data: dict[str, Any]) -> Enrollment:
    """A new enrollment episode for a discharged family; its history is kept."""
    when = data["enrolled_on"]
    if when > agency_today(user):  # the body first (422), then the state (409)
        raise ValidationFailed({"enrolled_on": ["Cannot be in the future."]})
    refuse_if_voided(family)
    if family.status != "discharged":
        raise Conflict("The family is enrolled; discharge it before re-enrolling.")
    if family.discharged_on is not None and when < family.discharged_on:
        raise ValidationFailed({"enrolled_on": ["Cannot be before the last discharge."]})
    requested = data.get("home_visitor_id")
    if requested is not None and requested != family.home_visitor_id:
        assign(user, family, requested, "re-enrollment")
    family.status = "enrolled"
    family.enrolled_on = when
    family.discharged_on = None
    family.discharge_reason = None
    episode = Enrollment(family_id=family.id, enrolled_on=when)
    db.session.add(episode)
    db.session.flush()
    audit.record(
        "enroll",
        object_type="family",
        object_id=family.id,
        object_agency_id=family.agency_id,
        detail={"episode": str(episode.id)},
    )
    return episode


# Caregivers and children -------------------------------------------------------------------

MEMBERS: dict[type, tuple[str, str, tuple[str, ...]]] = {
    Caregiver: ("caregiver", "caregivers", CAREGIVER_FIELDS),
    Child: ("child", "children", CHILD_FIELDS),
}


def members_of(family: Family, model: type, include_voided: bool) -> Select:
    _audit_listing(family, MEMBERS[model][1], include_voided=include_voided)
    stmt = select(model).where(model.family_id == family.id)
    if not include_voided:
        stmt = stmt.where(model.voided_at.is_(None))
    return stmt.order_by(model.created_at.desc(), model.id)


def family_records(
    user: User, model: type, object_type: str, args: dict[str, Any], filters: tuple[str, ...]
) -> Select:
    """The records of ``model`` (visits, screenings, ...) of the caller's families, voided ones
    only with ``include_voided``, each of ``filters`` given in ``args`` matched exactly; the
    list is audited as a ``search`` with its filters. The caller adds its own filters and
    order."""
    stmt = select(model).join(Family, Family.id == model.family_id).where(visible_families(user))
    if not args.get("include_voided"):
        stmt = stmt.where(model.voided_at.is_(None))
    for name in filters:
        if name in args:
            stmt = stmt.where(getattr(model, name) == args[name])
    audit.record(
        "search",
        object_type=object_type,
        detail={k: str(v) for k, v in args.items() if k not in ("page", "per_page")},
    )
    return stmt


def get_family_record(
    user: User, model: type, record_id: uuid.UUID, object_type: str, *, read: bool = False
) -> Any:
    """A record of family data (a caregiver, child, visit, ...) whose family is in the caller's
    scope; else 404, audited as ``denied`` the same way whether or not it exists. To ``read``
    it (not to write it), the read is audited."""
    record = db.session.scalar(
        select(model)
        .join(Family, Family.id == model.family_id)
        .where(model.id == record_id, visible_families(user))
    )
    if record is None:
        owner = db.session.scalar(
            select(Family.agency_id)
            .join(model, model.family_id == Family.id)
            .where(model.id == record_id)
        )
        record_denied(object_type, record_id, 404, owner)
        raise NotFound(f"No such {object_type}.")
    if read:
        audit.record(
            "read",
            object_type=object_type,
            object_id=record.id,
            object_agency_id=record.family.agency_id,
        )
    return record


def get_member(user: User, model: type, member_id: uuid.UUID, *, read: bool = False) -> Any:
    """A caregiver or child whose family is in the caller's scope; else 404 (audited)."""
    return get_family_record(user, model, member_id, MEMBERS[model][0], read=read)


def add_member(
    user: User,
    family: Family,
    model: type,
    data: dict[str, Any],
    member_id: uuid.UUID | None = None,
) -> Any:
    object_type, collection, fields = MEMBERS[model]
    refuse_if_voided(family)
    if data.get("family_id") not in (None, family.id):
        raise ValidationFailed({"family_id": ["Must be the family of the path."]})
    member_id = member_id or data.get("id") or uuid.uuid4()
    _check_new_id(model, data.get("id") or member_id, "id")
    member = model(id=member_id, **_renamed(_member_values(data, fields, replace=True)))
    member.name_key = name_key(member.first_name, member.last_name)
    getattr(family, collection).append(member)
    _demote_other_primaries(family, member)
    check_household(family, agency_today(user), _member_paths(member))
    db.session.flush()
    audit.record(
        "create", object_type=object_type, object_id=member.id, object_agency_id=family.agency_id
    )
    return member


def _member_paths(member: Any) -> dict[Any, str]:
    """Field paths for a caregiver or child sent on its own: its fields are top-level, and
    "exactly one primary" is about its ``primary``."""
    return {member: "", "caregivers": "primary"}


def _demote_other_primaries(family: Family, member: Any) -> None:
    """Making a caregiver primary makes the previous primary a secondary caregiver."""
    if isinstance(member, Caregiver) and member.primary and member.voided_at is None:
        for other in family.caregivers:
            if other is not member and other.primary and other.voided_at is None:
                other.primary = False


def update_member(user: User, member: Any, data: dict[str, Any], *, replace: bool) -> Any:
    object_type, _collection, fields = MEMBERS[type(member)]
    refuse_if_voided(member)
    if data.get("family_id") not in (None, member.family_id):
        raise ValidationFailed({"family_id": ["A record's family cannot change."]})
    if "id" in data and data["id"] != member.id:
        raise ValidationFailed({"id": ["Must be the id of the path."]})
    changed = apply(member, _member_values(data, fields, replace=replace))
    _demote_other_primaries(member.family, member)
    check_household(member.family, agency_today(user), _member_paths(member))
    db.session.flush()
    if changed:
        audit.record(
            "update",
            object_type=object_type,
            object_id=member.id,
            object_agency_id=member.family.agency_id,
        )
    return member


def put_member(
    user: User, model: type, member_id: uuid.UUID, data: dict[str, Any], current: Any
) -> tuple[Any, bool]:
    """PUT /caregivers/{id} or /children/{id}: create (with ``family_id``) or replace
    ``current``, the member with this id in the caller's scope (None for an id never used)."""
    if current is None:
        if data.get("family_id") is None:
            raise ValidationFailed({"family_id": ["Required to create a record."]})
        family = get_family(user, data["family_id"])
        return add_member(user, family, model, data, member_id), True
    return update_member(user, current, data, replace=True), False


def void_member(user: User, member: Any, reason: str | None) -> Any:
    if member.voided_at is None and isinstance(member, Caregiver) and member.primary:
        others = [c for c in member.family.caregivers if c is not member and not c.voided_at]
        if others:
            raise Conflict("Make another caregiver primary before voiding this one.")
    void_record(member, reason, MEMBERS[type(member)][0], member.family.agency_id)
    return member
