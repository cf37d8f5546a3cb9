"""What a family's visits tell its home visitor: the next and the last visit, and whether it
has gone 30 days without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import FamilyFactory, agency_today


def _long_enrolled(coalition):
    today = agency_today(coalition.a.visitor)
    return FamilyFactory(home_visitor=coalition.a.visitor, enrolled_on=today - timedelta(days=90))


def _visit(api, family, **fields):
    response = api.post("/visits", json={"family_id": str(family.id), **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_family_enrolled_long_ago_without_a_visit_needs_attention(coalition, api_as):
    family = _long_enrolled(coalition)
    body = api_as(coalition.a.visitor).get(f"/families/{family.id}").get_json()
    assert body["attention"] == ["no_visit_30d"]
    assert body["last_visit"] is None and body["next_visit"] is None


def test_a_completed_visit_this_month_clears_no_visit_30d(coalition, api_as):
    family = _long_enrolled(coalition)
    api = api_as(coalition.a.visitor)
    started = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    visit = _visit(api, family, status="completed", started_at=started, duration_minutes=50)

    body = api.get(f"/families/{family.id}").get_json()
    assert body["attention"] == []
    assert body["last_visit"]["id"] == visit["id"]
    listed = api.get("/families", query_string={"needs_attention": "true"}).get_json()
    assert str(family.id) not in {f["id"] for f in listed["items"]}


def test_an_old_missed_or_voided_visit_does_not_count(coalition, api_as):
    family = _long_enrolled(coalition)
    api = api_as(coalition.a.visitor)
    long_ago = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    _visit(api, family, status="completed", started_at=long_ago, duration_minutes=50)
    recent = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    _visit(api, family, status="missed", scheduled_for=recent, missed_reason="weather")
    voided = _visit(api, family, status="completed", started_at=recent, duration_minutes=30)
    api.delete(f"/visits/{voided['id']}")

    body = api.get(f"/families/{family.id}").get_json()
    assert body["attention"] == ["no_visit_30d"]
    listed = api.get("/families", query_string={"needs_attention": "true"}).get_json()
    assert str(family.id) in {f["id"] for f in listed["items"]}


def test_the_next_visit_is_the_earliest_scheduled_one_to_come(coalition, api_as):
    family = _long_enrolled(coalition)
    api = api_as(coalition.a.visitor)
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    later = (datetime.now(UTC) + timedelta(days=9)).isoformat()
    _visit(api, family, status="scheduled", scheduled_for=later)
    first = _visit(api, family, status="scheduled", scheduled_for=soon)

    body = api.get(f"/families/{family.id}").get_json()
    assert body["next_visit"]["id"] == first["id"]
    assert body["next_visit"]["status"] == "scheduled"
