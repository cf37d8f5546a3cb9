"""The rules of an observation (API.md's table of codes, subjects and value types; the codes
are data: hvcase/screenings/data/observation_codes.json). Routes and /sync both call these;
they flush, never commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from hvcase.auth.models import User
from hvcase.common.errors import ValidationFailed
from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.families.policy import record_denied
from hvcase.families.scope import visible_families
from hvcase.families.services import (
    agency_today,
    apply,
    audit_write,
    family_records,
    get_family_record,
    new_record_id,
    refuse_if_voided,
    void_record,
)
from hvcase.screenings.catalog import catalog
from hvcase.screenings.models import Observation
from hvcase.screenings.observation_codes import check_observation

FIELDS = ("subject_id", "code", "value", "observed_on")


def observations_for(user: User, args: dict[str, Any]) -> Select:
    """Observations of the caller's families, newest first (audited as a ``search``)."""
    filters = ("family_id", "subject_id", "code")
    stmt = family_records(user, Observation, "observation", args, filters)
    if "from_" in args:
        stmt = stmt.where(Observation.observed_on >= args["from_"])
    if "to" in args:
        stmt = stmt.where(Observation.observed_on <= args["to"])
    return stmt.order_by(Observation.observed_on.desc(), Observation.id)


def find_observation(user: User, observation_id: uuid.UUID) -> Observation:
    return get_family_record(user, Observation, observation_id, "observation")


def get_observation(user: User, observation_id: uuid.UUID) -> Observation:
    """One observation, its read audited."""
    return get_family_record(user, Observation, observation_id, "observation", read=True)


def _family(user: User, family_id: uuid.UUID) -> Family:
    family = db.session.scalar(select(Family).where(Family.id == family_id, visible_families(user)))
    if family is None:
        owner = db.session.scalar(select(Family.agency_id).where(Family.id == family_id))
        record_denied("family", family_id, 422, owner)
        raise ValidationFailed({"family_id": ["No such family."]})
    refuse_if_voided(family)
    return family


def _checked(user: User, family: Family, data: dict[str, Any]) -> dict[str, Any]:
    """The observation's columns, each rule a 422 naming its field: the subject is a live
    caregiver or child of the family, of the kind the code says; the value of the code's
    type; the day not after the agency's today."""
    subject_kind = relationship = None
    subject_id = data.get("subject_id")
    errors: dict[str, list[str]] = {}
    if subject_id is not None:
        caregiver = db.session.get(Caregiver, subject_id)
        child = None if caregiver else db.session.get(Child, subject_id)
        subject = caregiver or child
        if subject is None or subject.family_id != family.id or subject.voided_at is not None:
            errors["subject_id"] = ["Not a caregiver or child of this family."]
        elif caregiver is not None:
            subject_kind, relationship = "caregiver", caregiver.relationship_to_child
        else:
            subject_kind = "child"
    if not errors:
        errors = check_observation(
            catalog().observation_codes,
            code=data["code"],
            value=data["value"],
            subject_kind=subject_kind,
            subject_relationship=relationship,
        )
    if data["observed_on"] > agency_today(user):
        errors.setdefault("observed_on", []).append("Cannot be after today.")
    if errors:
        raise ValidationFailed(errors)
    return {name: data.get(name) for name in FIELDS}


def create_observation(
    user: User, data: dict[str, Any], observation_id: uuid.UUID | None = None
) -> Observation:
    family = _family(user, data["family_id"])
    observation = Observation(
        id=new_record_id(Observation, data, observation_id),
        family_id=family.id,
        recorded_by=user.id,
        **_checked(user, family, data),
    )
    db.session.add(observation)
    db.session.flush()
    audit_write("create", "observation", observation)
    return observation


def replace_observation(user: User, observation: Observation, data: dict[str, Any]) -> Observation:
    refuse_if_voided(observation)
    if data["family_id"] != observation.family_id:
        raise ValidationFailed({"family_id": ["An observation's family cannot change."]})
    values = _checked(user, observation.family, data)
    changed = apply(observation, values)
    db.session.flush()
    if changed:
        audit_write("update", "observation", observation)
    return observation


def put_observation(
    user: User, observation_id: uuid.UUID, data: dict[str, Any], current: Observation | None
) -> tuple[Observation, bool]:
    if current is None:
        return create_observation(user, data, observation_id), True
    return replace_observation(user, current, data), False


def void_observation(user: User, observation: Observation, reason: str | None) -> Observation:
    void_record(observation, reason, "observation", observation.family.agency_id)
    return observation
