"""Signing in a browser: the cookie, its rotation, logout on the server, the same 401 for every
kind of bad credentials, and the audit trail each attempt leaves (which nothing can rewrite)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from hvcase.audit.models import AuditEvent
from hvcase.auth.models import LoginSession
from hvcase.extensions import db
from tests.api import BASE, assert_problem
from tests.factories import PASSWORD, UserFactory

COOKIE = "hvcase_session"


def login(client, email: str, password: str = PASSWORD):
    return client.post(f"{BASE}/auth/login", json={"email": email, "password": password})


def session_cookie(response) -> str:
    """The ``name=value`` pair of the session cookie a response sets."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{COOKIE}="):
            return header.split(";", 1)[0]
    raise AssertionError(f"no {COOKIE} cookie in {response.headers.getlist('Set-Cookie')}")


def replay(app, cookie: str, method: str = "GET", path: str = "/me", **kwargs):
    """The request a stolen or kept cookie would make, from a client that has no other state."""
    fresh = app.test_client(use_cookies=False)
    headers = {"Cookie": cookie, **kwargs.pop("headers", {})}
    return fresh.open(BASE + path, method=method, headers=headers, **kwargs)


def csrf_token(client) -> str:
    return client.get(f"{BASE}/auth/csrf").get_json()["csrf_token"]


def events(action: str, **where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.action == action)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(db.session.scalars(stmt.order_by(AuditEvent.at)))


def test_a_home_visitor_signs_in_and_gets_a_safe_cookie(coalition, client):
    visitor = coalition.a.visitor

    response = login(client, "a.hv@example.org")

    assert response.status_code == 200
    assert response.get_json() == {
        "id": str(visitor.id),
        "email": "a.hv@example.org",
        "name": visitor.name,
        "role": "home_visitor",
        "agency_id": str(coalition.a.agency.id),
        "supervisor_id": str(coalition.a.supervisor.id),
    }
    set_cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")
    )
    attributes = {part.strip().lower() for part in set_cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    # The cookie signs the browser in from now on.
    me = client.get(f"{BASE}/me")
    assert me.status_code == 200
    assert me.get_json()["id"] == str(visitor.id)


def test_email_is_matched_without_regard_to_case_or_spaces(coalition, client):
    response = login(client, "  A.HV@Example.ORG ")
    assert response.status_code == 200
    assert response.get_json()["id"] == str(coalition.a.visitor.id)


def test_each_login_opens_a_new_server_session_and_ends_the_one_the_cookie_held(
    app, coalition, client
):
    first = session_cookie(login(client, "a.hv@example.org"))
    assert replay(app, first).status_code == 200

    second = session_cookie(login(client, "a.hv@example.org"))

    assert second != first
    assert_problem(replay(app, first), 401)
    assert replay(app, second).status_code == 200
    sessions = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == coalition.a.visitor.id)
    ).all()
    assert len(sessions) == 2
    assert sum(s.revoked_at is None for s in sessions) == 1


def test_signing_in_as_someone_else_ends_the_previous_users_session(app, coalition, client):
    visitor_cookie = session_cookie(login(client, "a.hv@example.org"))

    response = login(client, "a.sup@example.org")

    assert response.get_json()["id"] == str(coalition.a.supervisor.id)
    assert client.get(f"{BASE}/me").get_json()["id"] == str(coalition.a.supervisor.id)
    assert_problem(replay(app, visitor_cookie), 401)


def test_logout_ends_the_session_on_the_server(app, coalition, client):
    cookie = session_cookie(login(client, "a.hv@example.org"))
    token = csrf_token(client)

    response = client.post(f"{BASE}/auth/logout", headers={"X-CSRF-Token": token})

    assert response.status_code == 204
    assert response.get_data() == b""
    # The browser forgot it, and a copy of the cookie kept from before is dead on the server.
    assert_problem(client.get(f"{BASE}/me"), 401)
    assert_problem(replay(app, cookie), 401)
    assert_problem(replay(app, cookie, "GET", "/users"), 401)
    assert_problem(
        replay(app, cookie, "POST", "/me/password", headers={"X-CSRF-Token": token}, json={}),
        401,
    )
    assert len(events("logout", user_id=coalition.a.visitor.id)) == 1


def test_logout_needs_a_signed_in_caller(client):
    assert_problem(client.post(f"{BASE}/auth/logout"), 401)


@pytest.mark.parametrize(
    "email, password",
    [
        ("a.hv@example.org", "not the right password"),
        ("nobody@example.org", PASSWORD),
        ("inactive@example.org", PASSWORD),
    ],
    ids=["wrong password", "unknown email", "inactive user"],
)
def test_every_kind_of_bad_credentials_gets_the_same_401(coalition, client, email, password):
    UserFactory(agency=coalition.a.agency, email="inactive@example.org", active=False)

    response = login(client, email, password)

    body = assert_problem(response, 401)
    assert body == {
        "type": "urn:hvcase:problem:unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Wrong email or password.",
    }
    assert not any(h.startswith(f"{COOKIE}=") for h in response.headers.getlist("Set-Cookie"))
    assert_problem(client.get(f"{BASE}/me"), 401)


def test_the_three_refusals_are_indistinguishable(coalition, client):
    UserFactory(agency=coalition.a.agency, email="inactive@example.org", active=False)
    answers = [
        login(client, "a.hv@example.org", "not the right password"),
        login(client, "nobody@example.org"),
        login(client, "inactive@example.org"),
    ]
    bodies = {a.get_data() for a in answers}
    assert len(bodies) == 1
    assert {a.status_code for a in answers} == {401}
    assert {a.mimetype for a in answers} == {"application/problem+json"}


def test_missing_credentials_are_a_422_naming_them(client):
    body = assert_problem(client.post(f"{BASE}/auth/login", json={}), 422, "email", "password")
    assert set(body["errors"]) == {"email", "password"}


def test_a_login_is_audited(coalition, client):
    visitor = coalition.a.visitor
    login(client, "a.hv@example.org")

    [event] = events("login", user_id=visitor.id)

    assert event.object_type == "user"
    assert event.object_id == str(visitor.id)
    assert event.actor_agency_id == coalition.a.agency.id
    assert event.ip == "127.0.0.1"


def test_a_failed_login_is_audited_although_the_request_is_refused(coalition, client):
    visitor = coalition.a.visitor
    login(client, "a.hv@example.org", "not the right password")
    login(client, "Nobody@Example.org")

    [wrong_password] = events("login_failed", user_id=visitor.id)
    assert wrong_password.object_id == str(visitor.id)
    assert wrong_password.detail == {"email": "a.hv@example.org"}
    assert wrong_password.ip == "127.0.0.1"
    [unknown] = [e for e in events("login_failed") if e.user_id is None]
    assert unknown.detail == {"email": "nobody@example.org"}
    assert events("login", user_id=visitor.id) == []


def test_a_failed_login_of_an_inactive_user_is_audited(coalition, client):
    inactive = UserFactory(agency=coalition.a.agency, email="gone@example.org", active=False)

    login(client, "gone@example.org")

    [event] = events("login_failed", user_id=inactive.id)
    assert event.object_agency_id == coalition.a.agency.id


def _an_audit_event(client) -> AuditEvent:
    login(client, "nobody@example.org")
    [event] = events("login_failed")
    return event


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'login' WHERE id = :id",
        "UPDATE audit_events SET detail = '{}' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
    ],
    ids=["update action", "update detail", "delete"],
)
def test_the_database_refuses_to_change_or_delete_an_audit_event(coalition, client, statement):
    event = _an_audit_event(client)
    event_id, detail = event.id, dict(event.detail)
    # The id as the column stores it (a native uuid on PostgreSQL, 32 hex digits on SQLite).
    bound_id = event_id if db.engine.dialect.name == "postgresql" else event_id.hex

    with pytest.raises(DatabaseError, match="append-only"), db.session.begin_nested():
        db.session.execute(text(statement), {"id": bound_id})

    db.session.expire_all()
    kept = db.session.get(AuditEvent, event_id)
    assert kept is not None
    assert kept.action == "login_failed"
    assert kept.detail == detail


def test_a_nul_character_in_the_credentials_is_a_422_not_a_server_error(coalition, client):
    # PostgreSQL cannot compare or store text holding NUL; the body is refused before any query.
    response = client.post(
        f"{BASE}/auth/login",
        data='{"email": "a.hv\\u0000@example.org", "password": "x\\u0000"}',
        content_type="application/json",
    )

    body = assert_problem(response, 422, "email", "password")
    assert "NUL" in body["errors"]["email"][0]
