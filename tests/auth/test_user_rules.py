"""Rules on users that hold for admins too, and the audit of user changes."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from hvcase.audit.models import AuditEvent
from hvcase.auth.models import User
from hvcase.extensions import db
from tests.api import assert_problem
from tests.factories import PASSWORD

NEW_USER = {"name": "New Person", "password": "a-strong-password"}


def test_even_an_admin_puts_fiscal_hosts_only_in_a_lead_agency(coalition, api_as):
    admin = api_as(coalition.admin)
    refused = admin.post(
        "/users",
        json={
            **NEW_USER,
            "email": "fh@example.org",
            "role": "fiscal_host",
            "agency_id": str(coalition.a.agency.id),
        },
    )
    assert_problem(refused, 403)
    made = admin.post(
        "/users",
        json={
            **NEW_USER,
            "email": "fh@example.org",
            "role": "fiscal_host",
            "agency_id": str(coalition.lead.id),
        },
    )
    assert made.status_code == 201


def test_creating_and_changing_a_user_is_audited_without_the_password(coalition, api_as):
    admin = api_as(coalition.a.admin)
    user = admin.post(
        "/users", json={**NEW_USER, "email": "audited@example.org", "role": "supervisor"}
    ).get_json()
    admin.patch(f"/users/{user['id']}", json={"name": "Renamed", "password": "another-password"})
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == user["id"]).order_by(AuditEvent.at)
    ).all()
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].detail == {"fields": ["name", "password"]}
    assert all("another-password" not in str(e.detail) for e in events)
    assert events[0].user_id == coalition.a.admin.id


def test_logging_out_with_a_bearer_token_revokes_that_token(coalition, api_as):
    tablet = api_as(coalition.a.visitor)
    assert tablet.post("/auth/logout").status_code == 204
    assert_problem(tablet.get("/me"), 401)


def test_a_tablet_asking_for_a_csrf_token_is_told_it_needs_none(coalition, api_as):
    """Not a 401: that would tell the tablet its token has died."""
    tablet = api_as(coalition.a.visitor)
    body = assert_problem(tablet.get("/auth/csrf"), 409)
    assert "bearer" in body["detail"]
    assert tablet.get("/me").status_code == 200


OWN_CHANGES = {
    "password": "a-brand-new-password",
    "role": "supervisor",
    "active": False,
}


def _own_record(user):
    db.session.expire_all()
    stored = db.session.get(User, user.id)
    return stored.password_hash, stored.role, stored.active, stored.version


@pytest.mark.parametrize("who", ["admin", "agency_admin"])
@pytest.mark.parametrize("field", OWN_CHANGES)
def test_nobody_changes_their_own_password_role_or_active_through_users(
    coalition, api_as, who, field
):
    me = coalition.admin if who == "admin" else coalition.a.admin
    value = "home_visitor" if (who, field) == ("admin", "role") else OWN_CHANGES[field]
    before = _own_record(me)

    response = api_as(me).patch(f"/users/{me.id}", json={"name": "Still Me", field: value})

    assert_problem(response, 403, field)
    assert _own_record(me) == before
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "denied", AuditEvent.object_id == str(me.id))
    ).all()
    assert len(denied) == 1
    assert denied[0].object_type == "user"
    assert denied[0].user_id == me.id
    assert denied[0].detail["status"] == 403
    assert denied[0].detail["fields"] == [field]


def test_ones_own_record_sent_back_unchanged_is_no_change_of_role_or_active(coalition, api_as):
    me = api_as(coalition.a.admin)
    path = f"/users/{coalition.a.admin.id}"
    record = me.get(path).get_json()

    response = me.patch(path, json={**record, "name": "Renamed Admin"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["name"] == "Renamed Admin"
    assert response.get_json()["role"] == "agency_admin"


def test_ones_own_password_changes_through_me_password(coalition, api_as, client):
    me = api_as(coalition.a.admin)
    assert_problem(me.patch(f"/users/{coalition.a.admin.id}", json={"password": "x" * 20}), 403)

    changed = me.post("/me/password", json={"current_password": PASSWORD, "new_password": "x" * 20})

    assert changed.status_code == 204
    login = client.post(
        "/api/v1/auth/login", json={"email": coalition.a.admin.email, "password": "x" * 20}
    )
    assert login.status_code == 200


def test_an_admin_still_resets_and_deactivates_others(coalition, api_as):
    admin = api_as(coalition.admin)
    target = coalition.a.admin

    response = admin.patch(f"/users/{target.id}", json={"password": "y" * 20, "active": False})

    assert response.status_code == 200
    assert response.get_json()["active"] is False


def _users_named(email: str) -> int:
    return db.session.scalar(select(func.count()).where(User.email == email))


@pytest.mark.parametrize("agency", ["b", "other", "unknown"])
def test_an_agency_admin_naming_another_agency_in_a_user_body_is_a_403(coalition, api_as, agency):
    admin = api_as(coalition.a.admin)
    agency_id = {
        "b": str(coalition.b.agency.id),
        "other": str(coalition.other.agency.id),
        "unknown": str(uuid.uuid4()),
    }[agency]

    created = admin.post(
        "/users",
        json={**NEW_USER, "email": "x@example.org", "role": "home_visitor", "agency_id": agency_id},
    )
    changed = admin.patch(f"/users/{coalition.a.visitor.id}", json={"agency_id": agency_id})

    assert_problem(created, 403, "agency_id")
    assert_problem(changed, 403, "agency_id")
    assert _users_named("x@example.org") == 0
    db.session.expire_all()
    assert db.session.get(User, coalition.a.visitor.id).agency_id == coalition.a.agency.id


def test_an_agency_admin_may_name_their_own_agency(coalition, api_as):
    admin = api_as(coalition.a.admin)
    own = str(coalition.a.agency.id)

    created = admin.post(
        "/users",
        json={**NEW_USER, "email": "x@example.org", "role": "home_visitor", "agency_id": own},
    )
    changed = admin.patch(f"/users/{coalition.a.visitor.id}", json={"agency_id": own})

    assert created.status_code == 201
    assert changed.status_code == 200
