"""Scope: the one place that says which records a user may see.

Every query of scoped data starts from one of these functions; a record outside the caller's
scope is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from hvcase.auth.models import User
from hvcase.organisations.models import Agency


def visible_agencies(user: User) -> ColumnElement[bool]:
    """Agencies: admins all; fiscal hosts their lead agency and its members; others their own."""
    if user.role == "admin":
        return true()
    if user.agency_id is None:
        return false()
    if user.role == "fiscal_host":
        return or_(Agency.id == user.agency_id, Agency.lead_agency_id == user.agency_id)
    return Agency.id == user.agency_id


def visible_users(user: User) -> ColumnElement[bool]:
    """Users: admins all; everyone else the users of their own agency."""
    if user.role == "admin":
        return true()
    if user.agency_id is None:
        return false()
    return User.agency_id == user.agency_id
