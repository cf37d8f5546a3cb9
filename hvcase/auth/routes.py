"""/auth, /me and /users."""

from __future__ import annotations

import uuid
from typing import Any

from flask import g
from flask.views import MethodView
from flask_login import current_user

from hvcase.auth import services, users
from hvcase.auth.policy import require_role
from hvcase.auth.schemas import (
    CsrfSchema,
    LoginSchema,
    MeSchema,
    NewTokenSchema,
    PasswordChangeSchema,
    TokenRequestSchema,
    TokenSchema,
    UserCreateSchema,
    UserListArgs,
    UserSchema,
    UserUpdateSchema,
)
from hvcase.auth.throttle import throttled_login, throttled_password_check
from hvcase.common.api import Blueprint, LazyInput, public
from hvcase.common.errors import Conflict
from hvcase.common.pagination import paginate
from hvcase.common.schemas import PageArgs, page_of
from hvcase.common.versioning import check_if_match, if_match, with_etag

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign-in, tokens and users")


@blp.route("/auth/login")
class Login(MethodView):
    @public
    @throttled_login
    @blp.body(LoginSchema)
    @blp.response(200, MeSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, body: LazyInput) -> Any:
        """Sign in a browser: a new server-side session and its cookie."""
        data = body.load()
        user = services.authenticate(data["email"], data["password"])
        services.start_session(user)
        return user


@blp.route("/auth/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> Any:
        """End the cookie session on the server (a replayed cookie then gets 401)."""
        services.logout(current_user._get_current_object())


@blp.route("/auth/csrf")
class Csrf(MethodView):
    @blp.response(200, CsrfSchema)
    @blp.alt_response(409, response="CONFLICT")
    def get(self) -> Any:
        """The CSRF token of the cookie session, for X-CSRF-Token (also sent as that header)."""
        login_session = g.get("login_session")
        if login_session is None:
            # Signed in, by a bearer token: not a 401, which would tell a tablet its token died.
            raise Conflict("CSRF tokens belong to cookie sessions; bearer tokens need none.")
        token = login_session.csrf_token
        return {"csrf_token": token}, 200, {"X-CSRF-Token": token}


@blp.route("/auth/tokens")
class Tokens(MethodView):
    @public
    @throttled_login
    @blp.body(TokenRequestSchema)
    @blp.response(201, NewTokenSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, body: LazyInput) -> Any:
        """Issue a bearer token for a tablet (30 days by default)."""
        data = body.load()
        user = services.authenticate(data["email"], data["password"])
        token, secret = services.issue_token(user, data["device_name"])
        body = {
            "token": secret,
            "id": token.id,
            "device_name": token.device_name,
            "expires_at": token.expires_at,
        }
        # The secret is shown once: no cache keeps it (nobody is signed in by this request).
        return body, 201, {"Cache-Control": "no-store"}

    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TokenSchema))
    def get(self, args: dict) -> Any:
        """The caller's live tokens (never their secrets), newest first."""
        return paginate(services.live_tokens(current_user), args)


@blp.route("/auth/tokens/<uuid:token_id>")
class TokenById(MethodView):
    @blp.response(204)
    def delete(self, token_id: uuid.UUID) -> Any:
        """Revoke a token: one's own, or (agency admins) one of their agency's users'."""
        services.revoke_token(current_user, token_id)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The signed-in user."""
        return current_user


@blp.route("/me/password")
class MyPassword(MethodView):
    @throttled_password_check
    @blp.body(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(429, response="TOO_MANY_REQUESTS")
    def post(self, body: LazyInput) -> Any:
        """Change one's password; every other session and token of the user ends. A wrong
        current password is a failed sign-in of the account: throttled as logins are."""
        data = body.load()
        services.change_password(current_user, data["current_password"], data["new_password"])


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args: dict) -> Any:
        """Users: one's own agency (admins: all). Newest first."""
        filters = {k: v for k, v in args.items() if k not in ("page", "per_page")}
        return paginate(users.users_for(current_user, filters), args)

    @require_role("agency_admin", "admin")
    @blp.body(UserCreateSchema)
    @blp.response(201, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body: LazyInput) -> Any:
        """Add a user (agency admins: to their agency, not as admin)."""
        users.check_create_allowed(current_user, body.peek())
        return with_etag(users.create_user(current_user, body.load()), 201)


@blp.route("/users/<uuid:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> Any:
        """One user of the caller's agency (admins: any)."""
        return with_etag(users.get_user(current_user, user_id))

    @require_role("agency_admin", "admin")
    @if_match
    @blp.body(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, body: LazyInput, user_id: uuid.UUID) -> Any:
        """Change a user; deactivating or resetting the password ends their sign-ins at once.
        Nobody changes their own password (see /me/password), role or active here."""
        user = users.get_user(current_user, user_id)
        users.check_update_allowed(current_user, user, body.peek())
        check_if_match(user)
        return with_etag(users.update_user(current_user, user, body.load()))
