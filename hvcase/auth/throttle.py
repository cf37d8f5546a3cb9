"""Failed-sign-in throttling with Flask-Limiter: only failures count.

After ``LOGIN_FAILURES_PER_ACCOUNT`` failures for one account, or ``LOGIN_FAILURES_PER_ADDRESS``
from one address (generous: a whole agency's tablets may share one), further attempts get 429
with ``Retry-After`` until the window has passed. A failure is a 401 of a sign-in (login or token
request), or a wrong ``current_password`` on ``/me/password``, which counts against the
signed-in user's account in the same budget.

The key functions never raise, whatever the body: Flask-Limiter treats an exception there as a
dead storage and counts in an empty per-process memory store for a while, which would let a
malformed request weaken the counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import Response, current_app, g, request
from flask_login import current_user

from hvcase.common.net import client_address
from hvcase.extensions import limiter

# A body that names no readable email: such a request cannot fail a sign-in (it is refused
# before credentials are checked), so this shared key only stands in for "no account".
NO_ACCOUNT = "account:-"


def account_key(email: str) -> str:
    """The limiter key of an account: its normalised email, hashed (bounded, and no address in
    the limiter's storage)."""
    digest = hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return "account:" + digest


def _body_email() -> str | None:
    """The email a sign-in body names, or None when the body cannot be read as one: too large,
    not JSON, too deep, not an object, or an email that is not a string. Never raises."""
    try:
        body = request.get_json(silent=True)
    except Exception:  # a 413, too deep for the parser, a broken stream: no email
        return None
    email = body.get("email") if isinstance(body, dict) else None
    return email if isinstance(email, str) else None


def _login_account_key() -> str:
    email = _body_email()
    return account_key(email) if email is not None else NO_ACCOUNT


def _signed_in_account_key() -> str:
    try:
        email = current_user.email if current_user.is_authenticated else None
    except Exception:  # never raise in a key function (see above)
        email = None
    return account_key(email) if isinstance(email, str) else NO_ACCOUNT


def _failed(response: Response) -> bool:
    return response.status_code == 401


def note_wrong_password() -> None:
    """Count this request as a failed sign-in of the signed-in user's account (deducted when
    the response leaves)."""
    g.wrong_password = True


def _wrong_password(response: Response) -> bool:
    return bool(g.get("wrong_password"))


def _per_account_limit() -> str:
    return current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]


# The same scope and key for one account, whichever endpoint counts the failure: one budget.
_per_account = limiter.shared_limit(
    _per_account_limit, scope="login-account", key_func=_login_account_key, deduct_when=_failed
)
_per_signed_in_account = limiter.shared_limit(
    _per_account_limit,
    scope="login-account",
    key_func=_signed_in_account_key,
    deduct_when=_wrong_password,
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


def throttled_password_check(view: Callable) -> Callable:
    """Apply the signed-in user's account limit to a view that checks their password (it calls
    ``note_wrong_password`` on a wrong one)."""
    return _per_signed_in_account(view)
