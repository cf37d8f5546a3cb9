"""One family of domain exceptions, and one handler that turns every error into problem+json.

Services raise ``NotFound``, ``Forbidden``, ``Conflict``, ``StaleVersion`` or ``ValidationFailed``;
the framework's own errors (routing 404/405, bad JSON, 413, webargs 422) arrive as werkzeug
``HTTPException``s. Both leave as RFC 9457 ``application/problem+json``; anything else is logged
and answered with a bare 500 that carries no trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, json
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Seconds a client waits before retrying a 503 (the database unreachable or too busy).
RETRY_AFTER_SECONDS = "5"


class Problem(Exception):
    """A domain error with an HTTP status; raised in services, answered as problem+json."""

    status: int = 500
    slug: str = "error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or HTTPStatus(self.status).phrase)
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers or {})


class BadRequest(Problem):
    status, slug = 400, "bad-request"


class Unauthorized(Problem):
    status, slug = 401, "unauthorized"


class Forbidden(Problem):
    status, slug = 403, "forbidden"


class NotFound(Problem):
    status, slug = 404, "not-found"


class Conflict(Problem):
    status, slug = 409, "conflict"


class StaleVersion(Problem):
    status, slug = 412, "stale-version"


class ValidationFailed(Problem):
    """A body or parameter that fails validation; ``errors`` maps field paths to messages."""

    status, slug = 422, "validation-error"

    def __init__(self, errors: Mapping[str, list[str] | str], detail: str | None = None) -> None:
        normalised = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
        super().__init__(detail or "The request has fields that are not valid.", errors=normalised)


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build an RFC 9457 problem response."""
    phrase = HTTPStatus(status).phrase
    if status == ValidationFailed.status:
        slug = ValidationFailed.slug  # every 422 has the same type (API.md), whoever raised it
    body: dict[str, Any] = {
        "type": f"urn:hvcase:problem:{slug or phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors:
        body["errors"] = dict(errors)
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and "WWW-Authenticate" not in response.headers:
        # Every 401 names the scheme that would sign the request in (RFC 9110, 11.6.1).
        response.headers["WWW-Authenticate"] = "Bearer"
    if status == 503 and "Retry-After" not in response.headers:
        # Every 503 says when to try again (API.md): a tablet retries it, whoever answered it.
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into ``{"caregivers.0.birth_date": [...]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = "body" if key == "_schema" and not prefix else str(key)
            path = prefix if key == "_schema" and prefix else f"{prefix}.{name}" if prefix else name
            for sub, msgs in flatten_messages(value, path).items():
                flat.setdefault(sub, []).extend(msgs)
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            flat[prefix or "body"] = list(messages)
        else:
            for item in messages:
                for sub, msgs in flatten_messages(item, prefix).items():
                    flat.setdefault(sub, []).extend(msgs)
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = None
    detail = None
    if "messages" in data:
        # webargs: {"json": {...}} or {"query": {...}}; the location is not part of the name.
        messages = data["messages"]
        merged: dict[str, list[str]] = {}
        for location_messages in messages.values() if isinstance(messages, Mapping) else [messages]:
            merged.update(flatten_messages(location_messages))
        errors = merged
        if status == 400:
            detail = "The body is not valid JSON."
        else:
            detail = "The request has fields that are not valid."
    elif status == 413:
        detail = "The body is larger than 2 MiB."
    elif status == 415:
        detail = "The body must be JSON (Content-Type: application/json)."
    elif status in (404, 405, 429):
        detail = {
            404: "Not found.",
            405: "Method not allowed.",
            429: "Too many attempts; try again later.",
        }[status]
    headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
    headers.update(data.get("headers") or {})
    response = problem_response(status, detail=detail, errors=errors, headers=headers)
    return response


def _problem(error: Problem) -> Response:
    return problem_response(
        error.status,
        detail=error.detail,
        errors=error.errors,
        slug=error.slug,
        headers=error.headers,
    )


def _unexpected(error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem_response(500, detail="An unexpected error occurred; it has been logged.")


def stale_write(error: Exception) -> Response:
    # A concurrent writer changed the record between our read and our UPDATE.
    return problem_response(
        412, detail="The record changed while this request was applied; fetch it again."
    )


def integrity_conflict(error: Exception) -> Response:
    # A concurrent writer took the same unique value (id, email, key) first.
    log.info("integrity conflict: %s", error)
    return problem_response(409, detail="The change conflicts with data saved at the same time.")


def unavailable(error: Exception) -> Response:
    # Unreachable, restarting or too busy: a tablet retries a 503 (it reports a 500 as a bug).
    log.warning("database unavailable: %s", error)
    return problem_response(
        503,
        detail="The database is unavailable; try again later.",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def database_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database is out of reach or too busy, not a bug:
    unreachable, restarting or shutting down (OperationalError); a connection found dead in
    use (an InterfaceError, or any driver error for which SQLAlchemy invalidated the
    connection); no pooled connection free in time (the pool's TimeoutError)."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def database_error(error: Exception) -> Response:
    """Any other database error: a 503 when the database is unavailable, else a bug (500)."""
    return unavailable(error) if database_unavailable(error) else _unexpected(error)


def init_app(app: Flask) -> None:
    """Register the handlers that make every error a problem+json response."""
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout
    from sqlalchemy.orm.exc import StaleDataError

    app.register_error_handler(OperationalError, unavailable)
    app.register_error_handler(DBAPIError, database_error)
    app.register_error_handler(PoolTimeout, database_error)
    app.register_error_handler(StaleDataError, stale_write)
    app.register_error_handler(IntegrityError, integrity_conflict)
    app.register_error_handler(Problem, _problem)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, _unexpected)
