"""Deny by default: every view needs a signed-in user unless marked ``@public``.

A request is signed in by a cookie session (browsers) or a bearer token (tablets). A
state-changing request signed in by cookie must carry the session's ``X-CSRF-Token``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Flask, Request, Response, current_app, g, request
from flask_login import current_user

from hvcase.auth import services
from hvcase.auth.models import User
from hvcase.common.errors import Forbidden, Unauthorized
from hvcase.extensions import login_manager

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _bearer_secret() -> str | None:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    return None


@login_manager.user_loader
def _load_session_user(user_id: str) -> User | None:
    if "Authorization" in request.headers:
        return None  # a bearer token, when sent, is what signs the request in
    return services.session_user(user_id)


@login_manager.request_loader
def _load_token_user(req: Request) -> User | None:
    secret = _bearer_secret()
    return services.token_user(secret) if secret else None


def _view_method() -> Callable | None:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        return getattr(view_class, request.method.lower(), None)
    return view


def is_public_request() -> bool:
    if request.endpoint and request.endpoint.startswith("api-docs."):
        return True
    return bool(getattr(_view_method(), "is_public", False))


def require_sign_in() -> None:
    """Authentication (401), then CSRF for cookie sessions (403)."""
    if request.url_rule is None or is_public_request():
        return
    if not current_user.is_authenticated:
        raise Unauthorized("Sign in first: a session cookie or a bearer token is required.")
    g.signed_in = True
    login_session = g.get("login_session")
    if request.method not in SAFE_METHODS and login_session is not None:
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not hmac.compare_digest(sent, login_session.csrf_token):
            raise Forbidden("A valid X-CSRF-Token header is required (GET /auth/csrf).")


def no_store_when_signed_in(response: Response) -> Response:
    """``Cache-Control: no-store`` on every response of a signed-in request (family data, a
    user's record, an error about either), so that no browser or proxy keeps a copy. A request
    is signed in when this guard let it through as someone, or when it signed someone in (a
    login, whose user the response carries). Requests the guard does not authenticate (the
    public OpenAPI document and its UI, health, an unknown path) stay cacheable: the flag is
    set by the guard, not read from Flask-Login, whose template context loads the user of any
    page it renders (the docs UI included)."""
    if g.get("signed_in"):
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # server-side sessions do this job
    app.before_request(require_sign_in)
    app.after_request(no_store_when_signed_in)
