"""Agencies: create, update, list, with who may touch which field."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from hvcase.auth.models import User
from hvcase.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hvcase.extensions import db
from hvcase.organisations.models import Agency
from hvcase.organisations.scope import visible_agencies

ADMIN_ONLY_FIELDS = ("kind", "lead_agency_id")


def agencies_for(user: User, kind: str | None = None) -> Select:
    stmt = select(Agency).where(visible_agencies(user))
    if kind:
        stmt = stmt.where(Agency.kind == kind)
    return stmt.order_by(Agency.name, Agency.id)


def get_agency(user: User, agency_id: uuid.UUID) -> Agency:
    agency = db.session.scalar(select(Agency).where(Agency.id == agency_id, visible_agencies(user)))
    if agency is None:
        raise NotFound("No such agency.")
    return agency


def _check_coalition(kind: str, lead_agency_id: uuid.UUID | None, agency_id: Any = None) -> None:
    if kind == "lead":
        if lead_agency_id is not None:
            raise ValidationFailed({"lead_agency_id": ["A lead agency has no lead agency."]})
        return
    if lead_agency_id is None:
        raise ValidationFailed({"lead_agency_id": ["A member agency names its lead agency."]})
    lead = db.session.get(Agency, lead_agency_id)
    if lead is None or lead.kind != "lead" or lead.id == agency_id:
        raise ValidationFailed({"lead_agency_id": ["Not a lead agency."]})


def create_agency(data: dict[str, Any]) -> Agency:
    _check_coalition(data["kind"], data.get("lead_agency_id"))
    if data.get("id") and db.session.get(Agency, data["id"]) is not None:
        raise Conflict("An agency with this id exists.")
    agency = Agency(settings=data.pop("settings", None) or {}, **data)
    db.session.add(agency)
    db.session.flush()
    return agency


def check_update_allowed(user: User, agency: Agency, data: dict[str, Any]) -> None:
    """403 for fields the role may not set: kind and coalition are the admin's."""
    if user.role == "admin":
        return
    if user.role != "agency_admin" or agency.id != user.agency_id:
        raise Forbidden("Only the agency's own admin may change it.")
    for name in ADMIN_ONLY_FIELDS:
        if name in data and data[name] != getattr(agency, name):
            raise Forbidden(f"Only an admin may change {name}.")


def update_agency(agency: Agency, data: dict[str, Any]) -> Agency:
    kind = data.get("kind", agency.kind)
    lead = data.get("lead_agency_id", agency.lead_agency_id)
    if "kind" in data or "lead_agency_id" in data:
        _check_coalition(kind, lead, agency.id)
        if agency.kind == "lead" and kind == "member":
            has_members = db.session.scalar(
                select(Agency.id).where(Agency.lead_agency_id == agency.id).limit(1)
            )
            if has_members:
                raise Conflict("This lead agency still has member agencies.")
    if "settings" in data:
        data["settings"] = {**agency.settings, **data["settings"]}
    for name, value in data.items():
        if getattr(agency, name) != value:
            setattr(agency, name, value)
    db.session.flush()
    return agency
