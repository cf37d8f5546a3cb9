"""Rules on users that hold for admins too, and the audit of user changes."""

from __future__ import annotations

from sqlalchemy import select

from hvcase.audit.models import AuditEvent
from hvcase.extensions import db
from tests.api import assert_problem

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
