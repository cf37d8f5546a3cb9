"""Family scope: the one place that says which families a user may see.

Every query of family data (a family, its members, its visits, a tablet's pull) starts from
``visible_families``; a family outside the caller's scope is answered exactly like one that does
not exist (404). It lives with the Family model, not in ``common``, so the shared floor imports
no domain.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, select

from hvcase.auth.models import User
from hvcase.extensions import db
from hvcase.families.models import Family


def assigned_staff(user: User) -> list[uuid.UUID] | None:
    """Whose families are the caller's by assignment, as ``visible_families`` says: a home
    visitor's own, a supervisor's own and their home visitors'; None for an agency admin (every
    family of the agency, whoever it is assigned to)."""
    if user.role == "home_visitor":
        return [user.id]
    if user.role == "supervisor":
        supervised = db.session.scalars(select(User.id).where(User.supervisor_id == user.id))
        return [user.id, *supervised]
    return None


def visible_families(user: User) -> ColumnElement[bool]:
    """Families: a home visitor's own; a supervisor's own and their home visitors'; every
    family of an agency admin's agency. Other roles see no family data (they get 403 before
    any query)."""
    if user.agency_id is None:
        return false()
    if user.role == "agency_admin":
        return Family.agency_id == user.agency_id
    if user.role == "home_visitor":
        return (Family.agency_id == user.agency_id) & (Family.home_visitor_id == user.id)
    if user.role == "supervisor":
        supervised = select(User.id).where(User.supervisor_id == user.id).scalar_subquery()
        return (Family.agency_id == user.agency_id) & (
            (Family.home_visitor_id == user.id) | Family.home_visitor_id.in_(supervised)
        )
    return false()
