"""Sign-in: credentials, server-side cookie sessions, tablet tokens, password changes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from flask import current_app, g, session
from flask_login import login_user, logout_user
from sqlalchemy import Select, select, update

from hvcase.audit import services as audit
from hvcase.auth.models import ApiToken, LoginSession, User
from hvcase.auth.passwords import burn_time, hash_password, needs_rehash, verify_password
from hvcase.auth.throttle import note_wrong_password
from hvcase.common.errors import NotFound, Unauthorized, ValidationFailed
from hvcase.common.time import utcnow
from hvcase.extensions import db

TOKEN_PREFIX = "hvc_"
BAD_CREDENTIALS = "Wrong email or password."


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(email: str, password: str) -> User:
    """The active user with these credentials; the same 401 for every kind of failure."""
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        burn_time(password)
        audit.record(
            "login_failed",
            object_type="user",
            object_id=user.id if user else None,
            object_agency_id=user.agency_id if user else None,
            detail={"email": email},
            user=user,
            lasting=True,
        )
        raise Unauthorized(BAD_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        audit.record(
            "login_failed",
            object_type="user",
            object_id=user.id,
            object_agency_id=user.agency_id,
            detail={"email": email},
            user=user,
            lasting=True,
        )
        raise Unauthorized(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        # Upkeep, not a change of the record a client sees: a Core UPDATE leaves ``version``
        # (and so every client's ETag of this user) alone.
        db.session.execute(
            update(User).where(User.id == user.id).values(password_hash=hash_password(password))
        )
    return user


def start_session(user: User) -> LoginSession:
    """A new server-side session for the browser; any session the cookie held is ended."""
    end_current_session()
    session.clear()
    row = LoginSession(
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"]),
        csrf_token=secrets.token_urlsafe(32),
    )
    db.session.add(row)
    db.session.flush()
    login_user(user)
    session["sid"] = str(row.id)
    session.permanent = True
    g.login_session = row
    g.signed_in = True  # its response carries the user: never cached (guard.py)
    audit.record(
        "login",
        object_type="user",
        object_id=user.id,
        object_agency_id=user.agency_id,
        user=user,
        detail={"via": "session"},
    )
    return row


def end_current_session() -> None:
    """Revoke the session named by the cookie, if any."""
    sid = session.get("sid")
    if sid:
        try:
            row = db.session.get(LoginSession, uuid.UUID(sid))
        except ValueError:
            row = None
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


def logout(user: User) -> None:
    """End the cookie session, or revoke the bearer token the request came with."""
    end_current_session()
    token = g.get("api_token")
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()
    logout_user()
    session.clear()
    # The caller is signed out by now: name them, or the event would have no actor.
    audit.record(
        "logout",
        object_type="user",
        object_id=user.id,
        object_agency_id=user.agency_id,
        user=user,
    )


def session_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the cookie's session must still be alive on the server."""
    sid = session.get("sid")
    if not sid:
        return None
    try:
        row = db.session.get(LoginSession, uuid.UUID(sid))
    except ValueError:
        return None
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if str(row.user_id) != user_id:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=5):
        row.last_seen_at = now
    g.login_session = row
    return user


def issue_token(user: User, device_name: str) -> tuple[ApiToken, str]:
    """A new bearer token; the secret is returned once and only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        device_name=device_name,
        token_hash=hash_token(secret),
        expires_at=utcnow() + timedelta(days=current_app.config["TOKEN_LIFETIME_DAYS"]),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token_created",
        object_type="api_token",
        object_id=token.id,
        object_agency_id=user.agency_id,
        user=user,
        detail={"device_name": device_name},
    )
    return token, secret


def token_user(secret: str) -> User | None:
    """The user of a live bearer token (not revoked, not expired, user active)."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    g.api_token = token
    return token.user


def live_tokens(user: User) -> Select:
    """The user's tokens that still work, newest first."""
    return (
        select(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > utcnow(),
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )


def revoke_token(actor: User, token_id: uuid.UUID) -> None:
    """Revoke a token: one's own, or (agency admins) one of their agency's users'."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        raise NotFound("No such token.")
    owner = token.user
    allowed = (
        owner.id == actor.id
        or (actor.role == "agency_admin" and owner.agency_id == actor.agency_id)
        or actor.role == "admin"
    )
    if not allowed:
        raise NotFound("No such token.")
    token.revoked_at = utcnow()
    audit.record(
        "token_revoked",
        object_type="api_token",
        object_id=token.id,
        object_agency_id=owner.agency_id,
        detail={"owner_id": str(owner.id)},
    )


def end_all_sign_ins(
    user: User,
    *,
    keep_session_id: uuid.UUID | None = None,
    keep_token_id: uuid.UUID | None = None,
) -> None:
    """End every session and token of ``user``, except the caller's own, when named."""
    now = utcnow()
    sessions = update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None)
    )
    if keep_session_id is not None:
        sessions = sessions.where(LoginSession.id != keep_session_id)
    db.session.execute(
        sessions.values(revoked_at=now), execution_options={"synchronize_session": False}
    )
    tokens = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if keep_token_id is not None:
        tokens = tokens.where(ApiToken.id != keep_token_id)
    db.session.execute(
        tokens.values(revoked_at=now), execution_options={"synchronize_session": False}
    )


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change one's own password; every other session and token of the user ends."""
    if not verify_password(user.password_hash, current_password):
        note_wrong_password()
        raise ValidationFailed({"current_password": ["The current password is wrong."]})
    user.password_hash = hash_password(new_password)
    current_session, current_token = g.get("login_session"), g.get("api_token")
    end_all_sign_ins(
        user,
        keep_session_id=current_session.id if current_session else None,
        keep_token_id=current_token.id if current_token else None,
    )
    audit.record(
        "password_changed", object_type="user", object_id=user.id, object_agency_id=user.agency_id
    )
