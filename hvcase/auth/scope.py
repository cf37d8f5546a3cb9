"""User scope: the one place that says which user accounts a user may see.

Every query of users starts from ``visible_users``; an account outside the caller's scope is
answered exactly like one that does not exist (404). It lives with the User model, not in
``common``, so the shared floor imports no domain.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from hvcase.auth.models import User


def visible_users(user: User) -> ColumnElement[bool]:
    """Users: admins all; everyone else the users of their own agency."""
    if user.role == "admin":
        return true()
    if user.agency_id is None:
        return false()
    return User.agency_id == user.agency_id
