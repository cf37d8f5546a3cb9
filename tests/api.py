"""A small client that speaks the API as the tablet app does."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event
from werkzeug.test import TestResponse

from hvcase.auth.models import ApiToken
from hvcase.auth.services import TOKEN_PREFIX, hash_token
from hvcase.common.time import utcnow
from hvcase.extensions import db

BASE = "/api/v1"


def sign_in_as(user: Any, device_name: str = "test tablet") -> dict[str, str]:
    """A live bearer token for ``user``, made directly (logins are tested on their own)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(24)
    db.session.add(
        ApiToken(
            user_id=user.id,
            device_name=device_name,
            token_hash=hash_token(secret),
            expires_at=utcnow() + timedelta(days=30),
        )
    )
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


class ApiClient:
    """``api.get("/me")``: paths are relative to /api/v1; JSON in and out."""

    def __init__(self, client: FlaskClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    def request(self, method: str, path: str, **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.open(BASE + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.request("DELETE", path, **kwargs)


def assert_problem(response: TestResponse, status: int, *fields: str) -> dict:
    """The response is an RFC 9457 problem with ``status``, naming each of ``fields``."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status
    assert body["title"] and body["type"] and body["detail"]
    for field in fields:
        assert field in body.get("errors", {}), body
    return body


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (the tests share one connection)."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    connection = db.engines[None]
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(connection, "before_cursor_execute", count)
