"""Failed-login throttling with Flask-Limiter: only failures (401) count.

After ``LOGIN_FAILURES_PER_ACCOUNT`` failures for one email, or ``LOGIN_FAILURES_PER_ADDRESS``
from one address (generous: a whole agency's tablets may share one), further attempts get 429
with ``Retry-After`` until the window has passed.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request

from hvcase.common.net import client_address
from hvcase.extensions import limiter


def _account_key() -> str:
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return "account:" + (email.strip().lower() if isinstance(email, str) else "")


def _failed(response: Response) -> bool:
    return response.status_code == 401


_per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ACCOUNT"],
    scope="login-account",
    key_func=_account_key,
    deduct_when=_failed,
)
_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_FAILURES_PER_ADDRESS"],
    scope="login-address",
    key_func=client_address,
    deduct_when=_failed,
)


def throttled_login(view: Callable) -> Callable:
    """Apply both failed-login limits to a view that checks credentials."""
    return _per_account(_per_address(view))
