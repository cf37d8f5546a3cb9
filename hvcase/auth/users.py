"""Users: who may create and change whom, and the rules a user record keeps."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from sqlalchemy import Select, select

from hvcase.audit import services as audit
from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.auth.scope import visible_users
from hvcase.auth.services import end_all_sign_ins, normalise_email
from hvcase.common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hvcase.extensions import db
from hvcase.organisations.models import Agency


def users_for(user: User, filters: dict[str, Any]) -> Select:
    stmt = select(User).where(visible_users(user))
    for name in ("role", "active", "supervisor_id", "agency_id"):
        if name in filters:
            stmt = stmt.where(getattr(User, name) == filters[name])
    return stmt.order_by(User.created_at.desc(), User.id)


def get_user(actor: User, user_id: uuid.UUID) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id, visible_users(actor)))
    if user is None:
        raise NotFound("No such user.")
    return user


def check_may_manage(actor: User, agency: Agency | None, role: str) -> None:
    """403 unless ``actor`` may give ``role`` to a user of ``agency``."""
    if actor.role not in ("admin", "agency_admin"):
        raise Forbidden("Only admins and agency admins manage users.")
    if role == "admin" and actor.role != "admin":
        raise Forbidden("Only an admin may make an admin.")
    if role == "fiscal_host" and agency is not None and agency.kind != "lead":
        raise Forbidden("Fiscal hosts belong to a lead agency.")


def _check_supervisor(agency_id: uuid.UUID | None, role: str, supervisor_id: Any) -> None:
    if supervisor_id is None:
        return
    if role != "home_visitor":
        raise ValidationFailed({"supervisor_id": ["Only home visitors have a supervisor."]})
    supervisor = db.session.get(User, supervisor_id)
    if (
        supervisor is None
        or supervisor.role != "supervisor"
        or not supervisor.active
        or supervisor.agency_id != agency_id
    ):
        raise ValidationFailed(
            {"supervisor_id": ["Must name an active supervisor of the same agency."]}
        )


def _check_email_free(email: str, user_id: uuid.UUID | None = None) -> None:
    taken = db.session.scalar(select(User.id).where(User.email == email))
    if taken is not None and taken != user_id:
        raise Conflict("A user with this email exists.")


def resolve_agency(actor: User, data: dict[str, Any]) -> Agency | None:
    """The new user's agency: the caller's by default; an admin must name one (except admins)."""
    role = data["role"]
    if role == "admin":
        if data.get("agency_id") is not None:
            raise ValidationFailed({"agency_id": ["An admin belongs to no agency."]})
        return None
    agency_id = data.get("agency_id") or actor.agency_id
    if agency_id is None:
        raise ValidationFailed({"agency_id": ["Required for this role."]})
    if actor.role != "admin" and agency_id != actor.agency_id:
        raise Forbidden(
            "An agency admin manages the users of their own agency only.",
            errors={"agency_id": ["Only your own agency."]},
        )
    agency = db.session.get(Agency, agency_id)
    if agency is None:
        raise ValidationFailed({"agency_id": ["No such agency."]})
    return agency


def create_user(actor: User, data: dict[str, Any]) -> User:
    email = normalise_email(data["email"])
    agency = resolve_agency(actor, data)
    _check_supervisor(agency.id if agency else None, data["role"], data.get("supervisor_id"))
    if data.get("id") and db.session.get(User, data["id"]) is not None:
        raise Conflict("A user with this id exists.")
    _check_email_free(email)
    user = User(
        id=data.get("id") or uuid.uuid4(),
        email=email,
        name=data["name"],
        role=data["role"],
        agency_id=agency.id if agency else None,
        supervisor_id=data.get("supervisor_id"),
        password_hash=hash_password(data["password"]),
        active=data.get("active", True),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "create",
        object_type="user",
        object_id=user.id,
        object_agency_id=user.agency_id,
        detail={"role": user.role},
    )
    return user


def check_create_allowed(actor: User, raw: dict[str, Any]) -> None:
    """403, before the body is judged, when the caller may not give the role it sent or names
    an agency not its own (``raw``: the unvalidated body)."""
    _check_agency_named(actor, raw)
    if isinstance(raw.get("role"), str):
        agency = agency_named(raw.get("agency_id")) or actor.agency
        check_may_manage(actor, agency, raw["role"])


def check_update_allowed(actor: User, user: User, data: dict[str, Any]) -> None:
    """403 when the role may not change this user, or may not set a field it sent (``data``:
    the unvalidated body)."""
    check_may_manage(actor, user.agency, user.role)
    _check_agency_named(actor, data)
    if user.id == actor.id:
        _check_not_own_account(user, data)
    if isinstance(data.get("role"), str):
        check_may_manage(actor, user.agency, data["role"])


def _check_agency_named(actor: User, raw: dict[str, Any]) -> None:
    """An agency admin naming another agency's id is refused as a role refusal (403), not as a
    bad body: it is a field value the role may not set. Whether that agency exists is not told."""
    if actor.role == "admin":
        return
    named = _uuid(raw.get("agency_id"))
    if named is not None and named != actor.agency_id:
        raise Forbidden(
            "An agency admin manages the users of their own agency only.",
            errors={"agency_id": ["Only your own agency."]},
        )


# What nobody changes of their own account through /users: a password changes only through
# /me/password (which asks for the current one), and a role or ``active`` never by oneself.
OWN_ACCOUNT_FIELDS = ("password", "role", "active")


def _check_not_own_account(user: User, raw: dict[str, Any]) -> None:
    """403, audited as ``denied``, for a change of one's own password, role or ``active``. A
    role or ``active`` sent back unchanged (a client returning what it received) is no change."""
    fields = [
        name
        for name in OWN_ACCOUNT_FIELDS
        if name in raw and (name == "password" or raw[name] != getattr(user, name))
    ]
    if not fields:
        return
    audit.record(
        "denied",
        object_type="user",
        object_id=user.id,
        object_agency_id=user.agency_id,
        detail={"status": 403, "method": request.method, "path": request.path, "fields": fields},
        lasting=True,
    )
    messages = {
        "password": "Change your own password through POST /me/password.",
        "role": "Nobody changes their own role.",
        "active": "Nobody activates or deactivates their own account.",
    }
    raise Forbidden(
        f"You may not change your own {', '.join(fields)} here.",
        errors={name: [messages[name]] for name in fields},
    )


def _uuid(raw: Any) -> uuid.UUID | None:
    """A raw (unvalidated) value as a UUID, if it is one."""
    try:
        return uuid.UUID(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def agency_named(raw: Any) -> Agency | None:
    """The agency a raw (unvalidated) ``agency_id`` names, if it is one."""
    named = _uuid(raw)
    return db.session.get(Agency, named) if named is not None else None


def update_user(actor: User, user: User, data: dict[str, Any]) -> User:
    if "agency_id" in data and data.pop("agency_id") != user.agency_id:
        raise ValidationFailed({"agency_id": ["A user's agency cannot change."]})
    role = data.get("role", user.role)
    if (role == "admin") != (user.role == "admin"):
        raise ValidationFailed({"role": ["Admins and agency staff cannot trade roles."]})
    if "email" in data:
        data["email"] = normalise_email(data["email"])
        _check_email_free(data["email"], user.id)
    supervisor_id = data.get(
        "supervisor_id", user.supervisor_id if role == "home_visitor" else None
    )
    if role != "home_visitor" and "supervisor_id" not in data:
        supervisor_id = None
    _check_supervisor(user.agency_id, role, supervisor_id)
    data["supervisor_id"] = supervisor_id
    if role != "supervisor" and user.role == "supervisor":
        supervising = db.session.scalar(
            select(User.id).where(User.supervisor_id == user.id, User.active.is_(True)).limit(1)
        )
        if supervising:
            raise Conflict("This supervisor still supervises home visitors; reassign them first.")
    reset = "password" in data
    ends_sign_ins = data.get("active") is False or reset
    if reset:
        user.password_hash = hash_password(data.pop("password"))
    changed = sorted(name for name, value in data.items() if getattr(user, name) != value)
    for name in changed:
        setattr(user, name, data[name])
    if ends_sign_ins:
        end_all_sign_ins(user)
    db.session.flush()
    if changed or reset:
        # Which fields changed, never their values (a password is never written anywhere).
        fields = changed + (["password"] if reset else [])
        audit.record(
            "update",
            object_type="user",
            object_id=user.id,
            object_agency_id=user.agency_id,
            detail={"fields": fields},
        )
    return user
