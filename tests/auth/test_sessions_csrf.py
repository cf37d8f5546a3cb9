"""A browser's cookie session: CSRF on every state-changing request, and a session that the
server can end (password change, deactivation, reset, expiry) whatever the cookie says."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import config
from hvcase.auth.models import LoginSession
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.visits.models import Visit
from tests.api import BASE, ApiClient, assert_problem
from tests.factories import PASSWORD, VisitFactory

NEW_PASSWORD = "a much longer new passphrase"


class Browser:
    """A browser signed in by cookie: it keeps its cookie jar and, once asked, its CSRF token."""

    def __init__(self, app, email: str, password: str = PASSWORD) -> None:
        self.client = app.test_client()
        response = self.client.post(
            f"{BASE}/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        self.user_id = response.get_json()["id"]
        self.api = ApiClient(self.client)

    def csrf(self) -> str:
        response = self.api.get("/auth/csrf")
        assert response.status_code == 200
        return response.get_json()["csrf_token"]

    def with_csrf(self) -> ApiClient:
        return ApiClient(self.client, {"X-CSRF-Token": self.csrf()})

    def is_signed_in(self) -> bool:
        status = self.api.get("/me").status_code
        assert status in (200, 401)
        return status == 200


@pytest.fixture
def browser(app):
    return lambda email, password=PASSWORD: Browser(app, email, password)


def test_the_csrf_token_comes_in_the_body_and_in_a_header(coalition, browser):
    response = browser("a.hv@example.org").api.get("/auth/csrf")

    assert response.status_code == 200
    token = response.get_json()["csrf_token"]
    assert len(token) >= 32
    assert response.headers["X-CSRF-Token"] == token


def test_a_cookie_post_without_the_csrf_header_is_refused(coalition, browser):
    visitor = browser("a.hv@example.org")

    response = visitor.api.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    body = assert_problem(response, 403)
    assert "X-CSRF-Token" in body["detail"]
    # Nothing changed: the old password still signs in.
    assert browser("a.hv@example.org", PASSWORD).is_signed_in()


def test_a_cookie_patch_with_a_wrong_csrf_token_is_refused(coalition, browser):
    admin = browser("a.admin@example.org")
    visitor = coalition.a.visitor

    response = admin.api.patch(
        f"/users/{visitor.id}", json={"name": "Renamed"}, headers={"X-CSRF-Token": "forged"}
    )

    assert_problem(response, 403)
    db.session.expire_all()
    assert visitor.name != "Renamed"


def test_a_cookie_write_with_the_sessions_csrf_token_goes_through(coalition, browser):
    admin = browser("a.admin@example.org").with_csrf()
    visitor = coalition.a.visitor

    response = admin.patch(f"/users/{visitor.id}", json={"name": "Renamed"})

    assert response.status_code == 200
    assert response.get_json()["name"] == "Renamed"
    created = admin.post(
        "/users",
        json={
            "email": "new.hv@example.org",
            "name": "New Visitor",
            "role": "home_visitor",
            "password": NEW_PASSWORD,
        },
    )
    assert created.status_code == 201


def test_the_csrf_token_of_another_session_does_not_do(coalition, browser):
    admin = browser("a.admin@example.org")
    other_token = browser("a.admin@example.org").csrf()

    response = admin.api.patch(
        f"/users/{coalition.a.visitor.id}",
        json={"name": "Renamed"},
        headers={"X-CSRF-Token": other_token},
    )

    assert_problem(response, 403)


def test_csrf_is_checked_before_the_role_and_the_body(coalition, browser):
    visitor = browser("a.hv@example.org")

    # A home visitor may not create users at all, and this body is not even JSON: the missing
    # CSRF token is what answers.
    response = visitor.api.post("/users", data="{not json", content_type="application/json")

    body = assert_problem(response, 403)
    assert "X-CSRF-Token" in body["detail"]


def test_safe_methods_need_no_csrf_token(coalition, browser):
    visitor = browser("a.hv@example.org")

    assert visitor.api.get("/me").status_code == 200
    assert visitor.api.get("/users").status_code == 200
    assert visitor.api.get("/auth/tokens").status_code == 200


def test_a_bearer_request_needs_no_csrf_token(coalition, api_as):
    admin = api_as(coalition.a.admin)

    response = admin.patch(f"/users/{coalition.a.visitor.id}", json={"name": "Renamed"})

    assert response.status_code == 200
    assert response.get_json()["name"] == "Renamed"


def test_a_signed_out_write_without_csrf_is_a_401_not_a_403(client):
    api = ApiClient(client)

    assert_problem(api.post("/me/password", json={}), 401)
    assert_problem(api.patch(f"/users/{uuid.uuid4()}", json={"name": "x"}), 401)
    assert_problem(api.post("/users", json={}), 401)
    assert_problem(api.post("/auth/logout"), 401)


def test_the_csrf_endpoint_needs_a_signed_in_caller(client):
    assert_problem(ApiClient(client).get("/auth/csrf"), 401)


def test_logging_in_again_gives_a_new_csrf_token_and_the_old_one_is_void(coalition, app):
    browser = Browser(app, "a.admin@example.org")
    old_token = browser.csrf()
    browser.client.post(
        f"{BASE}/auth/login", json={"email": "a.admin@example.org", "password": PASSWORD}
    )

    new_token = browser.csrf()

    assert new_token != old_token
    assert_problem(
        browser.api.patch(
            f"/users/{coalition.a.visitor.id}",
            json={"name": "Renamed"},
            headers={"X-CSRF-Token": old_token},
        ),
        403,
    )


def test_changing_ones_password_ends_the_other_browser_sessions_only(coalition, browser):
    at_the_office = browser("a.hv@example.org")
    at_home = browser("a.hv@example.org")
    colleague = browser("a.hv2@example.org")

    response = at_the_office.with_csrf().post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert at_the_office.is_signed_in()
    assert not at_home.is_signed_in()
    assert colleague.is_signed_in()
    assert browser("a.hv@example.org", NEW_PASSWORD).is_signed_in()


def test_deactivating_a_user_ends_their_browser_sessions_at_once(coalition, browser, api_as):
    visitor = browser("a.hv@example.org")
    assert visitor.is_signed_in()

    response = api_as(coalition.a.admin).patch(
        f"/users/{coalition.a.visitor.id}", json={"active": False}
    )

    assert response.status_code == 200
    assert not visitor.is_signed_in()
    # Reactivating the account does not bring the old session back.
    api_as(coalition.a.admin).patch(f"/users/{coalition.a.visitor.id}", json={"active": True})
    assert not visitor.is_signed_in()


def test_a_password_reset_by_an_admin_ends_the_users_browser_sessions(coalition, browser, api_as):
    visitor = browser("a.hv@example.org")

    response = api_as(coalition.admin).patch(
        f"/users/{coalition.a.visitor.id}", json={"password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert not visitor.is_signed_in()
    assert browser("a.hv@example.org", NEW_PASSWORD).is_signed_in()


def test_an_expired_session_gets_401(coalition, browser):
    visitor = browser("a.hv@example.org")
    row = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == coalition.a.visitor.id)
    ).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert_problem(visitor.api.get("/me"), 401)


def test_the_session_lives_as_long_as_configured(coalition, browser, app):
    browser("a.hv@example.org")
    row = db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == coalition.a.visitor.id)
    ).one()

    lifetime = row.expires_at - row.created_at

    expected = timedelta(hours=app.config["SESSION_LIFETIME_HOURS"])
    assert abs(lifetime - expected) < timedelta(seconds=5)


def test_cookies_are_secure_everywhere_but_development():
    production = config.load("production", environ={"HVCASE_SECRET_KEY": "x" * 32})
    development = config.load("development", environ={})

    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert development["SESSION_COOKIE_SECURE"] is False


def _family_writes(family) -> list[tuple[str, str, dict]]:
    """A write on each visit endpoint and on /sync, as a tablet or browser would send it."""
    visit = VisitFactory(family=family)
    new = {
        "family_id": str(family.id),
        "status": "scheduled",
        "scheduled_for": "2026-12-01T15:00:00Z",
    }
    change = {"entity": "visit", "op": "upsert", "id": str(uuid.uuid4()), "data": new}
    return [
        ("POST", "/visits", new),
        ("PUT", f"/visits/{uuid.uuid4()}", new),
        ("PATCH", f"/visits/{visit.id}", {"notes": "Changed"}),
        ("DELETE", f"/visits/{visit.id}", None),
        ("POST", "/sync", {"device_id": "tab", "changes": [change]}),
    ]


def test_visit_and_sync_writes_need_a_signed_in_caller_and_a_cookies_csrf_token(
    coalition, browser, client, family
):
    visitor = browser("a.hv@example.org")
    signed_out = ApiClient(client, {})
    for method, path, body in _family_writes(family):
        kwargs = {} if body is None else {"json": body}
        assert_problem(signed_out.request(method, path, **kwargs), 401)
        refused = assert_problem(visitor.api.request(method, path, **kwargs), 403)
        assert "X-CSRF-Token" in refused["detail"], (method, path)
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
