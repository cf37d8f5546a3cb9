"""The rules of a visit, one at a time, as a home visitor meets them on the tablet: what a
scheduled and a completed visit need, times that cannot be, who may take part, what was
talked about, and the family's own state (discharged, voided)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from hvcase.common.time import utcnow
from tests.api import assert_problem
from tests.factories import CaregiverFactory, FamilyFactory, VisitFactory, agency_today
from tests.visits import (
    completed_visit,
    fresh_visit,
    hours_ago,
    hours_ahead,
    scheduled_visit,
    stamp,
    stored_visits,
)

# --- What each status needs ----------------------------------------------------------------


def test_a_scheduled_visit_needs_scheduled_for(api, family):
    body = scheduled_visit(family)
    del body["scheduled_for"]

    assert_problem(api.post("/visits", json=body), 422, "scheduled_for")
    assert stored_visits() == 0


def test_a_scheduled_visit_is_booked(api, family):
    body = scheduled_visit(family)

    response = api.post("/visits", json=body)

    assert response.status_code == 201
    visit = response.get_json()
    assert (visit["status"], visit["scheduled_for"]) == ("scheduled", body["scheduled_for"])
    assert (visit["started_at"], visit["ended_at"], visit["duration_minutes"]) == (None,) * 3


def test_a_completed_visit_needs_started_at(api, family):
    body = completed_visit(family)
    del body["started_at"]

    assert_problem(api.post("/visits", json=body), 422, "started_at")


def test_a_completed_visit_needs_a_duration_or_an_end(api, family):
    body = completed_visit(family)
    del body["duration_minutes"]

    response = api.post("/visits", json=body)

    assert_problem(response, 422, "duration_minutes")


def test_sixty_minutes_end_an_hour_after_the_start(api, family):
    started = hours_ago(30)

    response = api.post(
        "/visits", json=completed_visit(family, started_at=stamp(started), duration_minutes=60)
    )

    assert response.status_code == 201
    assert response.get_json()["ended_at"] == stamp(started + timedelta(hours=1))


def test_an_end_gives_the_duration(api, family):
    started = hours_ago(30)
    body = completed_visit(
        family, started_at=stamp(started), ended_at=stamp(started + timedelta(minutes=75))
    )
    del body["duration_minutes"]

    response = api.post("/visits", json=body)

    assert response.status_code == 201
    assert response.get_json()["duration_minutes"] == 75


def test_a_duration_that_disagrees_with_the_end_is_a_422(api, family):
    started = hours_ago(30)
    body = completed_visit(
        family,
        started_at=stamp(started),
        ended_at=stamp(started + timedelta(minutes=90)),
        duration_minutes=30,
    )

    assert_problem(api.post("/visits", json=body), 422, "duration_minutes")


def test_a_missed_visit_may_say_why(api, family):
    body = scheduled_visit(
        family, status="missed", scheduled_for=stamp(hours_ago(3)), missed_reason="weather"
    )

    response = api.post("/visits", json=body)

    assert response.status_code == 201
    assert response.get_json()["missed_reason"] == "weather"
    bad = {**body, "missed_reason": "overslept"}
    assert_problem(api.post("/visits", json=bad), 422, "missed_reason")


def test_an_unknown_status_is_a_422(api, family):
    assert_problem(api.post("/visits", json=completed_visit(family, status="done")), 422, "status")


# --- Times that cannot be ------------------------------------------------------------------


def test_a_visit_cannot_end_before_it_starts(api, family):
    started = hours_ago(30)
    body = completed_visit(
        family, started_at=stamp(started), ended_at=stamp(started - timedelta(minutes=5))
    )
    del body["duration_minutes"]

    assert_problem(api.post("/visits", json=body), 422, "ended_at")
    assert stored_visits() == 0


def test_a_visit_cannot_last_more_than_eight_hours(api, family):
    started = hours_ago(30)
    by_end = completed_visit(
        family, started_at=stamp(started), ended_at=stamp(started + timedelta(hours=8, minutes=1))
    )
    del by_end["duration_minutes"]
    by_duration = completed_visit(family, started_at=stamp(started), duration_minutes=8 * 60 + 1)

    assert_problem(api.post("/visits", json=by_end), 422, "ended_at")
    assert_problem(api.post("/visits", json=by_duration), 422, "duration_minutes")
    exactly_eight = completed_visit(family, started_at=stamp(started), duration_minutes=8 * 60)
    assert api.post("/visits", json=exactly_eight).status_code == 201


def test_a_completed_visit_cannot_start_in_the_future(api, family):
    body = completed_visit(family, started_at=stamp(hours_ahead(2)))

    assert_problem(api.post("/visits", json=body), 422, "started_at")


def test_a_scheduled_visit_may_be_in_the_future(api, family):
    assert api.post("/visits", json=scheduled_visit(family)).status_code == 201


@pytest.mark.parametrize("field", ["started_at", "ended_at", "scheduled_for"])
def test_a_timestamp_without_an_offset_is_a_422(api, family, field):
    naive = (utcnow() - timedelta(hours=20)).replace(tzinfo=None, microsecond=0).isoformat()
    body = {**completed_visit(family, scheduled_for=stamp(hours_ago(21))), field: naive}

    assert_problem(api.post("/visits", json=body), 422, field)


def test_an_offset_is_kept_as_the_same_instant_in_utc(api, family):
    started = hours_ago(30)
    in_chicago = started.astimezone(ZoneInfo("America/Chicago"))

    response = api.post("/visits", json=completed_visit(family, started_at=in_chicago.isoformat()))

    assert response.status_code == 201
    assert response.get_json()["started_at"] == stamp(started)


# --- Who took part, what was talked about, where -------------------------------------------


def test_participants_are_caregivers_and_children_of_the_family(coalition, api, family):
    caregiver, child = family.primary_caregiver, family.children[0]
    father = CaregiverFactory(family=family, relationship_to_child="father")

    response = api.post(
        "/visits",
        json=completed_visit(
            family, participants=[str(caregiver.id), str(father.id), str(child.id)]
        ),
    )

    assert response.status_code == 201
    assert len(response.get_json()["participants"]) == 3


def test_another_familys_caregiver_is_no_participant(coalition, api, family):
    neighbours = FamilyFactory(home_visitor=coalition.a.visitor)

    for stranger in (neighbours.primary_caregiver.id, uuid.uuid4()):
        body = completed_visit(family, participants=[str(stranger)])
        assert_problem(api.post("/visits", json=body), 422, "participants")
    assert stored_visits() == 0


def test_a_voided_caregiver_is_no_participant(coalition, api_as, api, family):
    father = CaregiverFactory(family=family, relationship_to_child="father")
    api_as(coalition.a.supervisor).delete(f"/caregivers/{father.id}")

    body = completed_visit(family, participants=[str(father.id)])

    assert_problem(api.post("/visits", json=body), 422, "participants")


def test_participants_must_be_ids(api, family):
    body = completed_visit(family, participants=["Mom"])

    assert_problem(api.post("/visits", json=body), 422, "participants.0")


def test_topics_are_codes(api, family):
    good = completed_visit(family, topics=["child_development", "developmental_support"])
    assert api.post("/visits", json=good).status_code == 201

    bad = completed_visit(family, topics=["gossip", "parenting"])
    assert_problem(api.post("/visits", json=bad), 422, "topics.0")


def test_the_location_is_home_unless_said(api, family):
    at_home = api.post("/visits", json=completed_visit(family)).get_json()
    virtual = api.post("/visits", json=completed_visit(family, location="virtual")).get_json()

    assert (at_home["location"], virtual["location"]) == ("home", "virtual")
    car = completed_visit(family, location="car")
    assert_problem(api.post("/visits", json=car), 422, "location")


# --- The family's state --------------------------------------------------------------------


@pytest.fixture
def discharged(coalition, api):
    """A family discharged three days ago."""
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    when = agency_today(coalition.a.agency) - timedelta(days=3)
    response = api.post(
        f"/families/{family.id}/discharge", json={"discharged_on": str(when), "reason": "moved"}
    )
    assert response.status_code == 200
    return family


def test_a_discharged_family_takes_no_visit_after_its_discharge(api, discharged):
    after = completed_visit(discharged, started_at=stamp(hours_ago(24)))
    booked = scheduled_visit(discharged)

    assert_problem(api.post("/visits", json=after), 422, "started_at")
    assert_problem(api.post("/visits", json=booked), 422, "scheduled_for")
    assert stored_visits() == 0


def test_a_discharged_family_takes_a_visit_from_before_its_discharge(api, discharged):
    before = completed_visit(discharged, started_at=stamp(hours_ago(24 * 5)))

    response = api.post("/visits", json=before)

    assert response.status_code == 201, response.get_json()


def test_a_visit_logged_before_a_backdated_discharge_can_still_be_corrected(coalition, api, family):
    """Tuesday's visit is logged; on Friday the family is discharged as of Monday (they had
    moved). The visit is no new visit: its notes may still be completed, and a replay of the
    tablet's PUT changes nothing; only moving it to another day after the discharge is
    refused."""
    started = hours_ago(24 * 3)
    visit_id = uuid.uuid4()
    body = completed_visit(family, started_at=stamp(started))
    assert api.put(f"/visits/{visit_id}", json=body).status_code == 201
    when = agency_today(coalition.a.agency) - timedelta(days=5)
    discharged = api.post(
        f"/families/{family.id}/discharge", json={"discharged_on": str(when), "reason": "moved"}
    )
    assert discharged.status_code == 200

    replayed = api.put(f"/visits/{visit_id}", json=body)
    noted = api.patch(f"/visits/{visit_id}", json={"notes": "Family moved to Duluth"})
    earlier = started - timedelta(days=1)
    moved = api.patch(
        f"/visits/{visit_id}",
        json={"started_at": stamp(earlier), "ended_at": stamp(earlier + timedelta(hours=1))},
    )

    assert (replayed.status_code, replayed.get_json()["version"]) == (200, 1)
    assert (noted.status_code, noted.get_json()["notes"]) == (200, "Family moved to Duluth")
    assert_problem(moved, 422, "started_at")


def test_a_voided_family_takes_no_visit(coalition, api_as, api, family):
    api_as(coalition.a.supervisor).delete(f"/families/{family.id}")

    assert_problem(api.post("/visits", json=completed_visit(family)), 409)
    assert_problem(api.put(f"/visits/{uuid.uuid4()}", json=completed_visit(family)), 409)
    assert stored_visits() == 0


def test_a_body_error_is_answered_before_the_voided_family(coalition, api_as, api, family):
    api_as(coalition.a.supervisor).delete(f"/families/{family.id}")

    assert_problem(api.post("/visits", json=completed_visit(family, topics=["x"])), 422)


# --- Corrections ---------------------------------------------------------------------------


def test_a_scheduled_visit_is_completed_later_by_patch(api, family):
    booked = api.post(
        "/visits", json=scheduled_visit(family, scheduled_for=stamp(hours_ago(3)))
    ).get_json()
    started = hours_ago(3)

    response = api.patch(
        f"/visits/{booked['id']}",
        json={"status": "completed", "started_at": stamp(started), "duration_minutes": 50},
    )

    assert response.status_code == 200, response.get_json()
    visit = response.get_json()
    assert (visit["status"], visit["version"]) == ("completed", 2)
    assert visit["ended_at"] == stamp(started + timedelta(minutes=50))
    assert visit["scheduled_for"] == booked["scheduled_for"]


def test_completing_by_patch_still_needs_a_start(api, family):
    booked = api.post("/visits", json=scheduled_visit(family)).get_json()

    response = api.patch(f"/visits/{booked['id']}", json={"status": "completed"})

    assert_problem(response, 422, "started_at")
    assert fresh_visit(booked["id"]).status == "scheduled"


def test_a_completed_visit_may_be_corrected_to_missed(api, family):
    visit = VisitFactory(family=family)

    response = api.patch(
        f"/visits/{visit.id}", json={"status": "missed", "missed_reason": "family_not_home"}
    )

    assert response.status_code == 200
    assert response.get_json()["status"] == "missed"


def test_a_patch_is_checked_against_the_visit_as_it_will_stand(api, family):
    visit = VisitFactory(family=family)

    response = api.patch(f"/visits/{visit.id}", json={"started_at": stamp(hours_ahead(5))})

    assert_problem(response, 422, "started_at")
    assert fresh_visit(visit.id).version == 1


# --- Codes (API.md, written out here: the contract, not the server's own list) -------------

API_TOPICS = [
    "child_development",
    "parenting",
    "health",
    "nutrition",
    "safety",
    "mental_health",
    "family_planning",
    "relationships",
    "goal_setting",
    "resources",
    "school_readiness",
    "child_concerns_asked",
    "developmental_support",
    "other",
]


def test_every_topic_of_api_md_is_accepted(api, family):
    response = api.post("/visits", json=completed_visit(family, topics=API_TOPICS))

    assert response.status_code == 201, response.get_json()
    assert sorted(response.get_json()["topics"]) == sorted(API_TOPICS)


@pytest.mark.parametrize("location", ["home", "community", "virtual", "other"])
def test_every_location_of_api_md_is_accepted(api, family, location):
    response = api.post("/visits", json=completed_visit(family, location=location))

    assert (response.status_code, response.get_json()["location"]) == (201, location)


@pytest.mark.parametrize(
    "reason", ["family_not_home", "family_cancelled", "visitor_cancelled", "weather", "other"]
)
def test_every_missed_reason_of_api_md_is_accepted(api, family, reason):
    body = scheduled_visit(family, status="missed", missed_reason=reason)
    response = api.post("/visits", json=body)

    assert (response.status_code, response.get_json()["missed_reason"]) == (201, reason)


def test_a_cancelled_visit_may_be_booked_again_and_cancelled_again(api, family):
    """API.md: any status may be corrected by a later write."""
    visit = api.post("/visits", json=scheduled_visit(family, status="cancelled")).get_json()
    statuses = []
    for status in ("scheduled", "cancelled", "scheduled"):
        response = api.patch(f"/visits/{visit['id']}", json={"status": status})
        statuses.append((response.status_code, response.get_json()["status"]))

    assert visit["status"] == "cancelled"
    assert statuses == [(200, "scheduled"), (200, "cancelled"), (200, "scheduled")]
