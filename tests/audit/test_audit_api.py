"""The audit log as an agency admin reads it."""

from __future__ import annotations

from tests.api import assert_problem

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
