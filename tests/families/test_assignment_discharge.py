"""A family changes hands and comes and goes: a supervisor moves it to another home visitor,
the family moves away and is discharged, and comes back a year later for a new episode."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hvcase.extensions import db
from hvcase.families.models import Assignment, Enrollment, Family
from tests.api import assert_problem
from tests.factories import FamilyFactory, UserFactory, agency_today
from tests.families import audit_events, days_ago, fresh


@pytest.fixture
def family(coalition):
    return FamilyFactory(
        home_visitor=coalition.a.visitor, enrolled_on=days_ago(coalition.a.agency, 200)
    )


def history(api, family) -> list[dict]:
    response = api.get(f"/families/{family.id}/assignments")
    assert response.status_code == 200
    return response.get_json()["items"]


def assign(api, family, user, **fields):
    return api.post(
        f"/families/{family.id}/assignment", json={"home_visitor_id": str(user.id), **fields}
    )


# --- Assignment ----------------------------------------------------------------------------


def test_a_supervisor_moves_a_family_to_another_home_visitor(coalition, api_as, family):
    a = coalition.a
    supervisor = api_as(a.supervisor)

    response = assign(supervisor, family, a.other_visitor, note="caseload balance")

    assert response.status_code == 200
    moved = response.get_json()
    assert moved["home_visitor_id"] == str(a.other_visitor.id)
    assert moved["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert fresh(Family, family.id).home_visitor_id == a.other_visitor.id
    newest, first = history(supervisor, family)
    assert newest["home_visitor_id"] == str(a.other_visitor.id)
    assert newest["assigned_by"] == str(a.supervisor.id)
    assert newest["note"] == "caseload balance"
    assert first["home_visitor_id"] == str(a.visitor.id)
    assert len(audit_events("assign", object_id=family.id, user_id=a.supervisor.id)) == 1


def test_history_is_newest_first_and_answers_the_list_envelope(coalition, api_as, family):
    a = coalition.a
    admin = api_as(a.admin)
    for user in (a.other_visitor, a.supervisor, a.visitor):
        assert assign(admin, family, user).status_code == 200

    page = admin.get(f"/families/{family.id}/assignments", query_string={"per_page": 2})

    body = page.get_json()
    assert body["total"] == 4
    assert (body["page"], body["per_page"]) == (1, 2)
    assert [h["home_visitor_id"] for h in body["items"]] == [
        str(a.visitor.id),
        str(a.supervisor.id),
    ]
    assert {h["assigned_by"] for h in body["items"]} == {str(a.admin.id)}
    assert set(body["items"][0]) == {"home_visitor_id", "assigned_at", "assigned_by", "note"}


def test_after_reassignment_the_old_visitor_loses_the_family_and_the_new_one_has_it(
    coalition, api_as, family
):
    a = coalition.a
    assign(api_as(a.supervisor), family, a.other_visitor)

    old, new = api_as(a.visitor), api_as(a.other_visitor)

    assert_problem(old.get(f"/families/{family.id}"), 404)
    assert old.get("/families").get_json()["total"] == 0
    assert new.get(f"/families/{family.id}").status_code == 200
    assert [f["id"] for f in new.get("/families").get_json()["items"]] == [str(family.id)]
    caregiver = family.primary_caregiver
    assert_problem(old.get(f"/caregivers/{caregiver.id}"), 404)
    assert new.get(f"/caregivers/{caregiver.id}").status_code == 200


def test_a_family_may_be_assigned_to_a_supervisor(coalition, api_as, family):
    response = assign(api_as(coalition.a.admin), family, coalition.a.supervisor)

    assert response.status_code == 200
    assert response.get_json()["home_visitor_id"] == str(coalition.a.supervisor.id)


def test_assigning_to_the_current_visitor_changes_nothing(coalition, api_as, family):
    api = api_as(coalition.a.supervisor)

    response = assign(api, family, coalition.a.visitor)

    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert len(history(api, family)) == 1


@pytest.mark.parametrize(
    "who", ["other agency", "inactive", "agency_admin", "fiscal host", "nobody"]
)
def test_only_active_visiting_staff_of_the_agency_take_a_family(coalition, api_as, family, who):
    a = coalition.a
    target = {
        "other agency": lambda: coalition.b.visitor,
        "inactive": lambda: UserFactory(role="home_visitor", agency=a.agency, active=False),
        "agency_admin": lambda: a.admin,
        "fiscal host": lambda: coalition.fiscal_host,
        "nobody": lambda: type("Ghost", (), {"id": uuid.uuid4()})(),
    }[who]()
    api = api_as(a.admin)

    assert_problem(assign(api, family, target), 422, "home_visitor_id")

    stored = fresh(Family, family.id)
    assert (stored.home_visitor_id, stored.version) == (a.visitor.id, 1)
    assert len(history(api, family)) == 1


def test_an_assignment_body_is_checked(coalition, api_as, family):
    api = api_as(coalition.a.supervisor)

    assert_problem(api.post(f"/families/{family.id}/assignment", json={}), 422, "home_visitor_id")
    assert_problem(
        api.post(f"/families/{family.id}/assignment", json={"home_visitor_id": "x"}),
        422,
        "home_visitor_id",
    )
    assert_problem(assign(api, family, coalition.a.other_visitor, shift="night"), 422, "shift")


def test_a_supervisor_cannot_assign_a_family_outside_their_scope(coalition, api_as):
    a = coalition.a
    other_supervisor = UserFactory(role="supervisor", agency=a.agency)
    elsewhere = UserFactory(role="home_visitor", agency=a.agency, supervisor_id=other_supervisor.id)
    family = FamilyFactory(home_visitor=elsewhere)

    assert_problem(assign(api_as(a.supervisor), family, a.visitor), 404)
    assert fresh(Family, family.id).home_visitor_id == elsewhere.id


# --- Discharge -----------------------------------------------------------------------------


def discharge(api, family, when, reason="moved", **fields):
    return api.post(
        f"/families/{family.id}/discharge",
        json={"discharged_on": str(when), "reason": reason, **fields},
    )


def test_a_home_visitor_discharges_a_family_that_moved_away(coalition, api_as, family):
    api = api_as(coalition.a.visitor)
    when = days_ago(coalition.a.agency, 3)

    response = discharge(api, family, when, note="moved to Duluth")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "discharged"
    assert body["discharged_on"] == str(when)
    assert body["discharge_reason"] == "moved"
    assert body["version"] == 2
    (episode,) = api.get(f"/families/{family.id}/enrollments").get_json()["items"]
    assert episode["discharged_on"] == str(when)
    assert episode["discharge_reason"] == "moved"
    assert fresh(Enrollment, episode["id"]).discharge_note == "moved to Duluth"
    assert len(audit_events("discharge", object_id=family.id)) == 1


def test_a_discharge_on_the_day_of_enrollment_is_fine(coalition, api_as, family):
    response = discharge(
        api_as(coalition.a.visitor), family, family.enrolled_on, "declined_services"
    )

    assert response.status_code == 200


@pytest.mark.parametrize("offset", [-1, 201], ids=["tomorrow", "before enrollment"])
def test_a_discharge_date_outside_the_episode_is_refused(coalition, api_as, family, offset):
    when = days_ago(coalition.a.agency, offset)

    assert_problem(discharge(api_as(coalition.a.visitor), family, when), 422, "discharged_on")

    stored = fresh(Family, family.id)
    assert (stored.status, stored.discharged_on, stored.version) == ("enrolled", None, 1)


def test_a_discharge_reason_is_one_of_the_codes(coalition, api_as, family):
    response = discharge(
        api_as(coalition.a.visitor), family, days_ago(coalition.a.agency, 1), "bored"
    )

    assert_problem(response, 422, "reason")


def test_discharging_twice_is_a_409(coalition, api_as, family):
    api = api_as(coalition.a.visitor)
    first_day = days_ago(coalition.a.agency, 5)
    discharge(api, family, first_day)

    assert_problem(discharge(api, family, days_ago(coalition.a.agency, 1), "other"), 409)

    stored = fresh(Family, family.id)
    assert (stored.discharged_on, stored.discharge_reason) == (first_day, "moved")


def test_a_bad_date_is_a_422_before_the_state_is_a_409(coalition, api_as, family):
    """The contract's order: the body (422), then the state (409)."""
    api = api_as(coalition.a.visitor)
    discharge(api, family, days_ago(coalition.a.agency, 5))
    tomorrow = agency_today(coalition.a.agency) + timedelta(days=1)

    assert_problem(discharge(api, family, tomorrow), 422, "discharged_on")
    assert_problem(
        api_as(coalition.a.supervisor).post(
            f"/families/{family.id}/enrollments", json={"enrolled_on": str(tomorrow)}
        ),
        422,
        "enrolled_on",
    )


def test_a_discharged_familys_enrollment_date_stays_before_its_discharge(coalition, api_as, family):
    api = api_as(coalition.a.visitor)
    discharge(api, family, days_ago(coalition.a.agency, 50))

    response = api.patch(
        f"/families/{family.id}", json={"enrolled_on": str(days_ago(coalition.a.agency, 40))}
    )

    assert_problem(response, 422, "enrolled_on")
    assert fresh(Family, family.id).enrolled_on == family.enrolled_on


# --- Re-enrollment -------------------------------------------------------------------------


def reenroll(api, family, when, **fields):
    return api.post(f"/families/{family.id}/enrollments", json={"enrolled_on": str(when), **fields})


def test_an_enrolled_family_is_not_enrolled_again(coalition, api_as, family):
    response = reenroll(api_as(coalition.a.supervisor), family, agency_today(coalition.a.agency))

    assert_problem(response, 409)
    assert fresh(Family, family.id).version == 1


def test_a_family_that_comes_back_starts_a_new_episode_and_keeps_the_old_one(
    coalition, api_as, family
):
    a = coalition.a
    left, back = days_ago(a.agency, 100), days_ago(a.agency, 10)
    discharge(api_as(a.visitor), family, left)
    supervisor = api_as(a.supervisor)

    response = reenroll(supervisor, family, back)

    assert response.status_code == 201
    episode = response.get_json()
    assert episode["enrolled_on"] == str(back)
    assert episode["discharged_on"] is None
    episodes = supervisor.get(f"/families/{family.id}/enrollments").get_json()
    assert episodes["total"] == 2
    assert [
        (e["enrolled_on"], e["discharged_on"], e["discharge_reason"]) for e in episodes["items"]
    ] == [
        (str(back), None, None),
        (str(family.enrolled_on), str(left), "moved"),
    ]
    now = supervisor.get(f"/families/{family.id}").get_json()
    assert (now["status"], now["enrolled_on"], now["discharged_on"], now["discharge_reason"]) == (
        "enrolled",
        str(back),
        None,
        None,
    )
    assert len(audit_events("enroll", object_id=family.id)) == 1


def test_a_family_discharged_and_back_the_same_day_lists_the_open_episode_first(
    coalition, api_as, family
):
    a = coalition.a
    today = agency_today(a.agency)
    discharge(api_as(a.visitor), family, today)
    supervisor = api_as(a.supervisor)
    reenroll(supervisor, family, today)
    discharge(api_as(a.visitor), family, today, "other")
    reenroll(supervisor, family, today)

    episodes = supervisor.get(f"/families/{family.id}/enrollments").get_json()["items"]

    assert [e["discharged_on"] for e in episodes] == [None, str(today), str(today)]
    assert [e["discharge_reason"] for e in episodes] == [None, "other", "moved"]


def test_a_family_may_come_back_to_another_home_visitor(coalition, api_as, family):
    a = coalition.a
    discharge(api_as(a.visitor), family, days_ago(a.agency, 30))

    response = reenroll(
        api_as(a.admin), family, days_ago(a.agency, 2), home_visitor_id=str(a.other_visitor.id)
    )

    assert response.status_code == 201
    assert fresh(Family, family.id).home_visitor_id == a.other_visitor.id
    newest = history(api_as(a.admin), family)[0]
    assert (newest["home_visitor_id"], newest["note"]) == (str(a.other_visitor.id), "re-enrollment")


@pytest.mark.parametrize("days", [-1, 31], ids=["in the future", "before the discharge"])
def test_a_re_enrollment_date_is_checked(coalition, api_as, family, days):
    a = coalition.a
    discharge(api_as(a.visitor), family, days_ago(a.agency, 30))

    assert_problem(reenroll(api_as(a.admin), family, days_ago(a.agency, days)), 422, "enrolled_on")

    assert fresh(Family, family.id).status == "discharged"


def test_re_enrolling_to_someone_who_cannot_take_it_writes_nothing(coalition, api_as, family):
    a = coalition.a
    discharge(api_as(a.visitor), family, days_ago(a.agency, 30))

    response = reenroll(
        api_as(a.admin), family, days_ago(a.agency, 1), home_visitor_id=str(coalition.b.visitor.id)
    )

    assert_problem(response, 422, "home_visitor_id")
    stored = fresh(Family, family.id)
    assert (stored.status, stored.home_visitor_id) == ("discharged", a.visitor.id)
    assert db.session.scalar(select(func.count()).where(Enrollment.family_id == family.id)) == 1
    assert db.session.scalar(select(func.count()).where(Assignment.family_id == family.id)) == 1


def test_correcting_the_enrollment_date_moves_the_current_episode_only(coalition, api_as, family):
    a = coalition.a
    discharge(api_as(a.visitor), family, days_ago(a.agency, 100))
    reenroll(api_as(a.supervisor), family, days_ago(a.agency, 20))
    api = api_as(a.visitor)

    before_discharge = {"enrolled_on": str(days_ago(a.agency, 101))}
    assert_problem(api.patch(f"/families/{family.id}", json=before_discharge), 422, "enrolled_on")
    corrected = api.patch(
        f"/families/{family.id}", json={"enrolled_on": str(days_ago(a.agency, 25))}
    )

    assert corrected.status_code == 200
    episodes = api.get(f"/families/{family.id}/enrollments").get_json()["items"]
    assert [e["enrolled_on"] for e in episodes] == [
        str(days_ago(a.agency, 25)),
        str(days_ago(a.agency, 200)),  # the first episode, as enrolled
    ]
