"""The audit log as an agency admin reads it."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from hvcase.audit.models import AuditEvent
from hvcase.extensions import db
from tests.api import assert_problem
from tests.factories import FamilyFactory
from tests.visits import completed_visit

BODY = {
    "enrolled_on": "2026-01-05",
    "caregivers": [
        {"first_name": "Iris", "last_name": "Audit", "relationship": "mother", "primary": True}
    ],
}


def test_an_agency_admin_sees_their_agency_reads_and_denials_and_no_other(coalition, api_as):
    visitor_a = api_as(coalition.a.visitor)
    family = visitor_a.post("/families", json=BODY).get_json()
    visitor_a.get(f"/families/{family['id']}")
    assert api_as(coalition.b.visitor).get(f"/families/{family['id']}").status_code == 404
    api_as(coalition.b.visitor).get("/me")

    events = api_as(coalition.a.admin).get(
        "/audit-events", query_string={"object_id": family["id"], "per_page": 200}
    )
    assert events.status_code == 200
    actions = sorted(e["action"] for e in events.get_json()["items"])
    # Agency b's visitor probing agency a's family is on a's record: a's admin sees it.
    assert actions == ["denied", "enroll", "read"]

    as_b = api_as(coalition.b.admin).get(
        "/audit-events", query_string={"action": "denied", "object_id": family["id"]}
    )
    assert [e["user_id"] for e in as_b.get_json()["items"]] == [str(coalition.b.visitor.id)]


def test_filters_by_user_action_and_day(coalition, api_as):
    api_as(coalition.a.visitor).post("/families", json=BODY)
    admin = api_as(coalition.a.admin)
    mine = admin.get(
        "/audit-events",
        query_string={"user_id": str(coalition.a.visitor.id), "action": "enroll"},
    ).get_json()
    assert mine["total"] == 1
    assert mine["items"][0]["object_type"] == "family"
    none = admin.get("/audit-events", query_string={"to": "2000-01-01"}).get_json()
    assert none["total"] == 0


def test_only_agency_admins_and_admins_read_the_log(coalition, api_as):
    for user in (coalition.a.visitor, coalition.a.supervisor, coalition.fiscal_host):
        assert_problem(api_as(user).get("/audit-events"), 403)
    everyone = api_as(coalition.admin).get("/audit-events", query_string={"per_page": 1})
    assert everyone.status_code == 200


def test_nothing_in_the_api_changes_an_event(coalition, api_as):
    admin = api_as(coalition.admin)
    assert_problem(admin.delete("/audit-events"), 405)
    assert_problem(admin.post("/audit-events", json={}), 405)


def _search_events(api, user) -> list[dict]:
    response = api.get("/audit-events", query_string={"action": "search", "user_id": str(user.id)})
    assert response.status_code == 200
    return response.get_json()["items"]


def test_a_searchs_text_is_shown_only_to_the_admins_of_the_agency_searched(coalition, api_as):
    visitor = coalition.a.visitor
    assert api_as(visitor).get("/families", query_string={"q": "Rivera"}).status_code == 200

    (own_admins,) = _search_events(api_as(coalition.a.admin), visitor)
    (deployment_admins,) = _search_events(api_as(coalition.admin), visitor)

    assert own_admins["detail"]["q"] == "Rivera"
    assert deployment_admins["detail"]["q"] == "[redacted]"
    # Only the text is hidden; the event, its other filters and the stored value stay.
    assert {k: v for k, v in deployment_admins.items() if k != "detail"} == {
        k: v for k, v in own_admins.items() if k != "detail"
    }
    stored = db.session.get(AuditEvent, uuid.UUID(own_admins["id"]))
    assert stored.detail["q"] == "Rivera"


def test_a_search_without_text_reads_the_same_to_every_admin(coalition, api_as):
    visitor = coalition.a.visitor
    api_as(visitor).get("/families", query_string={"status": "enrolled"})

    (own_admins,) = _search_events(api_as(coalition.a.admin), visitor)
    (deployment_admins,) = _search_events(api_as(coalition.admin), visitor)

    assert own_admins["detail"] == deployment_admins["detail"]
    assert deployment_admins["detail"]["status"] == "enrolled"
    assert "q" not in deployment_admins["detail"]


@pytest.mark.parametrize("whose", ["another agency's", "nobody's"])
def test_a_visit_naming_a_family_outside_scope_is_audited_as_denied_with_the_422(
    coalition, api_as, whose
):
    theirs = FamilyFactory(home_visitor=coalition.b.visitor)
    family_id = theirs.id if whose == "another agency's" else uuid.uuid4()
    body = completed_visit(SimpleNamespace(id=family_id))

    response = api_as(coalition.a.visitor).post("/visits", json=body)

    assert_problem(response, 422, "family_id")
    (event,) = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "denied", AuditEvent.user_id == coalition.a.visitor.id
        )
    ).all()
    assert (event.object_type, event.object_id) == ("family", str(family_id))
    assert event.detail["status"] == 422
    owner = coalition.b.agency.id if whose == "another agency's" else None
    assert event.object_agency_id == owner


def test_every_denied_event_holds_the_status_answered(coalition, api_as):
    """Whatever the refusal (a role, a path out of scope, a body's family, one's own account),
    detail.status is the status of the answer."""
    theirs = FamilyFactory(home_visitor=coalition.b.visitor)
    answers = [
        api_as(coalition.fiscal_host).get("/families"),
        api_as(coalition.a.visitor).get(f"/families/{theirs.id}"),
        api_as(coalition.a.visitor).post("/visits", json=completed_visit(theirs)),
        api_as(coalition.a.admin).patch(f"/users/{coalition.a.admin.id}", json={"active": False}),
    ]

    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "denied").order_by(AuditEvent.at)
    ).all()
    assert [e.detail["status"] for e in events] == [r.status_code for r in answers]
    assert [r.status_code for r in answers] == [403, 404, 422, 403]
