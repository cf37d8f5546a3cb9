"""Agency scope: the one place that says which agencies a user may see.

Every query of agencies starts from ``visible_agencies``; an agency outside the caller's scope
is answered exactly like one that does not exist (404). It lives with the Agency model, not in
``common``, so the shared floor imports no domain.
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
