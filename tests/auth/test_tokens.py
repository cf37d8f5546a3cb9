"""A tablet's bearer token: issued once, stored hashed, listed without its secret, revoked by
its owner or their agency admin, and dead at once when its user is deactivated or reset, when it
expires, or when the user changes their password on another device."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from hvcase.audit.models import AuditEvent
from hvcase.auth.models import ApiToken
from hvcase.auth.services import hash_token
from hvcase.common.time import utcnow
from hvcase.extensions import db
from tests.api import BASE, ApiClient, assert_problem
from tests.factories import PASSWORD

NEW_PASSWORD = "a much longer new passphrase"


def issue(client, email: str, password: str = PASSWORD, device_name: str = "tablet 7"):
    return client.post(
        f"{BASE}/auth/tokens",
        json={"email": email, "password": password, "device_name": device_name},
    )


@pytest.fixture
def tablet(app):
    """``tablet(email)``: a client signed in with a token issued through the API, and its id."""

    def make(email: str, device_name: str = "tablet 7") -> ApiClient:
        response = issue(app.test_client(), email, device_name=device_name)
        assert response.status_code == 201, response.get_data(as_text=True)
        body = response.get_json()
        api = ApiClient(app.test_client(), {"Authorization": f"Bearer {body['token']}"})
        api.token_id = body["token_id"]
        return api

    return make


def signed_in(api: ApiClient) -> bool:
    status = api.get("/me").status_code
    assert status in (200, 401)
    return status == 200


def parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def test_a_tablet_gets_a_token_that_lasts_thirty_days(coalition, client):
    response = issue(client, "a.hv@example.org", device_name="Kitchen tablet")

    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "token_id", "device_name", "expires_at"}
    assert body["device_name"] == "Kitchen tablet"
    assert abs(parse(body["expires_at"]) - (utcnow() + timedelta(days=30))) < timedelta(minutes=1)
    me = ApiClient(client, {"Authorization": f"Bearer {body['token']}"}).get("/me")
    assert me.status_code == 200
    assert me.get_json()["id"] == str(coalition.a.visitor.id)


def test_the_token_is_stored_hashed_and_its_creation_audited(coalition, client):
    body = issue(client, "a.hv@example.org").get_json()

    row = db.session.get(ApiToken, uuid.UUID(body["token_id"]))
    assert row.token_hash == hash_token(body["token"])
    assert body["token"] not in row.token_hash
    [event] = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "token_created", AuditEvent.object_id == body["token_id"]
        )
    ).all()
    assert event.user_id == coalition.a.visitor.id
    assert event.detail == {"device_name": "tablet 7"}


def test_bad_credentials_get_no_token_and_the_same_401_as_a_login(coalition, client):
    wrong = issue(client, "a.hv@example.org", "not the right password")
    unknown = issue(client, "nobody@example.org")
    login = client.post(
        f"{BASE}/auth/login", json={"email": "nobody@example.org", "password": PASSWORD}
    )

    assert_problem(wrong, 401)
    assert wrong.get_data() == unknown.get_data() == login.get_data()
    assert db.session.scalars(select(ApiToken)).all() == []


def test_a_token_request_names_the_device(coalition, client):
    response = client.post(
        f"{BASE}/auth/tokens", json={"email": "a.hv@example.org", "password": PASSWORD}
    )
    assert_problem(response, 422, "device_name")


def test_a_user_lists_their_own_tokens_without_secrets(coalition, app, tablet):
    kitchen = tablet("a.hv@example.org", "Kitchen")
    car = tablet("a.hv@example.org", "Car")
    tablet("a.hv2@example.org", "Colleague's")
    kitchen.get("/me")

    response = car.get("/auth/tokens")

    assert response.status_code == 200
    page = response.get_json()
    assert {k: page[k] for k in ("page", "per_page", "total")} == {
        "page": 1,
        "per_page": 50,
        "total": 2,
    }
    items = page["items"]
    assert {i["token_id"] for i in items} == {kitchen.token_id, car.token_id}
    for item in items:
        assert set(item) == {"token_id", "device_name", "created_at", "last_used_at", "expires_at"}
    by_device = {i["device_name"]: i for i in items}
    assert by_device["Kitchen"]["last_used_at"] is not None
    secrets = {kitchen.headers["Authorization"][7:], car.headers["Authorization"][7:]}
    assert not any(secret in response.get_data(as_text=True) for secret in secrets)


def test_revoking_a_token_kills_it_at_once(coalition, tablet):
    kitchen = tablet("a.hv@example.org", "Kitchen")
    car = tablet("a.hv@example.org", "Car")

    response = car.delete(f"/auth/tokens/{kitchen.token_id}")

    assert response.status_code == 204
    assert_problem(kitchen.get("/me"), 401)
    assert signed_in(car)
    listed = car.get("/auth/tokens").get_json()["items"]
    assert [i["token_id"] for i in listed] == [car.token_id]
    assert_problem(car.delete(f"/auth/tokens/{kitchen.token_id}"), 404)
    revoked = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "token_revoked")
    ).one()
    assert revoked.object_id == kitchen.token_id
    assert revoked.user_id == coalition.a.visitor.id


def test_a_tablet_can_revoke_its_own_token(coalition, tablet):
    kitchen = tablet("a.hv@example.org")

    assert kitchen.delete(f"/auth/tokens/{kitchen.token_id}").status_code == 204

    assert_problem(kitchen.get("/me"), 401)


def test_an_agency_admin_revokes_a_lost_tablet_of_their_agency(coalition, tablet, api_as):
    lost = tablet("a.hv@example.org")

    response = api_as(coalition.a.admin).delete(f"/auth/tokens/{lost.token_id}")

    assert response.status_code == 204
    assert_problem(lost.get("/me"), 401)


@pytest.mark.parametrize(
    "who",
    ["a.other_visitor", "a.supervisor", "b.admin", "fiscal_host", "lead_admin", "other.admin"],
)
def test_nobody_else_may_revoke_a_users_token(coalition, tablet, api_as, who):
    token = tablet("a.hv@example.org")
    caller = coalition
    for part in who.split("."):
        caller = getattr(caller, part)

    response = api_as(caller).delete(f"/auth/tokens/{token.token_id}")

    assert_problem(response, 404)
    assert signed_in(token)


def test_an_admin_may_revoke_any_token(coalition, tablet, api_as):
    token = tablet("other.hv@example.org")

    assert api_as(coalition.admin).delete(f"/auth/tokens/{token.token_id}").status_code == 204
    assert_problem(token.get("/me"), 401)


def test_an_unknown_or_malformed_token_id_is_a_404(coalition, api_as):
    visitor = api_as(coalition.a.visitor)

    assert_problem(visitor.delete(f"/auth/tokens/{uuid.uuid4()}"), 404)
    assert_problem(visitor.delete("/auth/tokens/not-a-token"), 404)


def test_a_token_dies_with_its_deactivated_user(coalition, tablet, api_as):
    visitor = tablet("a.hv@example.org")
    colleague = tablet("a.hv2@example.org")
    admin = api_as(coalition.a.admin)

    response = admin.patch(f"/users/{coalition.a.visitor.id}", json={"active": False})

    assert response.status_code == 200
    assert response.get_json()["active"] is False
    assert_problem(visitor.get("/me"), 401)
    assert signed_in(colleague)
    # Switching the account back on does not bring the old token back to life.
    assert admin.patch(f"/users/{coalition.a.visitor.id}", json={"active": True}).status_code == 200
    assert_problem(visitor.get("/me"), 401)


def test_a_token_dies_when_an_admin_resets_the_password(coalition, tablet, api_as):
    visitor = tablet("a.hv@example.org")

    response = api_as(coalition.a.admin).patch(
        f"/users/{coalition.a.visitor.id}", json={"password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert_problem(visitor.get("/me"), 401)
    assert issue(visitor.client, "a.hv@example.org", NEW_PASSWORD).status_code == 201
    assert_problem(issue(visitor.client, "a.hv@example.org", PASSWORD), 401)


def test_an_expired_token_gets_401(coalition, tablet):
    visitor = tablet("a.hv@example.org")
    row = db.session.get(ApiToken, uuid.UUID(visitor.token_id))
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()

    assert_problem(visitor.get("/me"), 401)
    assert_problem(visitor.get("/users"), 401)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer hvc_not-a-real-token", "Bearer ", "Basic YTpi", "hvc_no-scheme"],
)
def test_a_made_up_or_malformed_authorization_gets_401(coalition, client, authorization):
    response = ApiClient(client, {"Authorization": authorization}).get("/me")
    assert_problem(response, 401)


def test_a_dead_bearer_token_is_not_rescued_by_a_live_cookie(coalition, app, tablet):
    visitor = tablet("a.hv@example.org")
    login = visitor.client.post(
        f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD}
    )
    assert login.status_code == 200
    visitor.delete(f"/auth/tokens/{visitor.token_id}")

    assert_problem(visitor.get("/me"), 401)


def test_changing_ones_password_ends_every_other_token_and_session(coalition, app, tablet):
    kitchen = tablet("a.hv@example.org", "Kitchen")
    car = tablet("a.hv@example.org", "Car")
    colleague = tablet("a.hv2@example.org")
    browser = app.test_client()
    browser.post(f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD})
    assert browser.get(f"{BASE}/me").status_code == 200

    response = kitchen.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204
    assert signed_in(kitchen)
    assert_problem(car.get("/me"), 401)
    assert_problem(browser.get(f"{BASE}/me"), 401)
    assert signed_in(colleague)
    assert [i["token_id"] for i in kitchen.get("/auth/tokens").get_json()["items"]] == [
        kitchen.token_id
    ]
    assert issue(app.test_client(), "a.hv@example.org", NEW_PASSWORD).status_code == 201
    assert_problem(issue(app.test_client(), "a.hv@example.org", PASSWORD), 401)
    [event] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "password_changed")
    ).all()
    assert event.user_id == coalition.a.visitor.id


def test_a_wrong_current_password_changes_nothing(coalition, app, tablet):
    kitchen = tablet("a.hv@example.org", "Kitchen")
    car = tablet("a.hv@example.org", "Car")

    response = kitchen.post(
        "/me/password",
        json={"current_password": "not the right password", "new_password": NEW_PASSWORD},
    )

    assert_problem(response, 422, "current_password")
    assert signed_in(car)
    assert issue(app.test_client(), "a.hv@example.org", PASSWORD).status_code == 201
    assert_problem(issue(app.test_client(), "a.hv@example.org", NEW_PASSWORD), 401)


@pytest.mark.parametrize("length, status", [(11, 422), (12, 204), (128, 204), (129, 422)])
def test_a_new_password_is_12_to_128_characters(coalition, api_as, length, status):
    visitor = api_as(coalition.a.visitor)

    response = visitor.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "p" * length}
    )

    if status == 422:
        assert_problem(response, 422, "new_password")
    else:
        assert response.status_code == 204


@pytest.mark.parametrize("length, status", [(11, 422), (12, 200), (128, 200), (129, 422)])
def test_a_reset_password_is_12_to_128_characters(coalition, api_as, length, status):
    admin = api_as(coalition.a.admin)

    response = admin.patch(f"/users/{coalition.a.visitor.id}", json={"password": "p" * length})

    if status == 422:
        assert_problem(response, 422, "password")
    else:
        assert response.status_code == 200


def test_a_password_change_needs_both_fields(coalition, api_as):
    response = api_as(coalition.a.visitor).post("/me/password", json={})
    assert_problem(response, 422, "current_password", "new_password")


def test_a_nul_character_in_the_device_name_is_a_422(coalition, client):
    response = issue(client, "a.hv@example.org", device_name="tablet\x00")

    assert_problem(response, 422, "device_name")
    assert db.session.scalars(select(ApiToken)).all() == []
