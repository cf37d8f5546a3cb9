"""No lost or doubled work from tablets: versions and ETags, If-Match, PUT replays,
Idempotency-Key on enrollment, and voiding a family instead of deleting it."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from hvcase.common.idempotency import IdempotencyRecord
from hvcase.extensions import db
from hvcase.families.models import Family
from tests.api import assert_problem
from tests.factories import FamilyFactory
from tests.families import audit_events, counts, enrollment_body, fresh


@pytest.fixture
def family(coalition):
    return FamilyFactory(home_visitor=coalition.a.visitor, children=1, household_size=3)


# --- Versions and ETags --------------------------------------------------------------------


def test_a_new_family_is_version_1_with_its_etag(coalition, api):
    created = api.post("/families", json=enrollment_body(coalition.a.agency))
    read = api.get(f"/families/{created.get_json()['id']}")

    assert created.get_json()["version"] == read.get_json()["version"] == 1
    assert created.headers["ETag"] == read.headers["ETag"] == '"1"'


def test_a_patch_that_changes_something_is_the_next_version(api, family):
    response = api.patch(f"/families/{family.id}", json={"household_size": 4})

    assert response.status_code == 200
    assert response.get_json()["household_size"] == 4
    assert response.get_json()["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert fresh(Family, family.id).household_size == 4
    assert len(audit_events("update", object_id=family.id)) == 1


def test_a_patch_with_the_values_already_stored_keeps_the_version(api, family):
    response = api.patch(
        f"/families/{family.id}", json={"household_size": 3, "phone": family.phone}
    )

    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert response.headers["ETag"] == '"1"'
    assert audit_events("update", object_id=family.id) == []


def test_if_match_with_the_current_version_applies(api, family):
    response = api.patch(
        f"/families/{family.id}", json={"household_size": 5}, headers={"If-Match": '"1"'}
    )

    assert response.status_code == 200
    assert response.get_json()["version"] == 2


def test_a_stale_if_match_is_a_412_and_nothing_changes(coalition, api_as, api, family):
    api.patch(f"/families/{family.id}", json={"household_size": 4})  # another tablet's edit
    stale = {"If-Match": '"1"'}
    put_body = {"enrolled_on": str(family.enrolled_on), "household_size": 9}

    for response in (
        api.patch(f"/families/{family.id}", json={"household_size": 9}, headers=stale),
        api.put(f"/families/{family.id}", json=put_body, headers=stale),
        api_as(coalition.a.supervisor).delete(f"/families/{family.id}", headers=stale),
    ):
        assert_problem(response, 412)
        assert response.headers["ETag"] == '"2"'

    stored = fresh(Family, family.id)
    assert (stored.household_size, stored.version, stored.voided_at) == (4, 2, None)


def test_if_match_is_checked_before_the_body(api, family):
    response = api.patch(
        f"/families/{family.id}", json={"household_size": "many"}, headers={"If-Match": '"9"'}
    )

    assert_problem(response, 412)


# --- PUT -----------------------------------------------------------------------------------


def test_put_with_a_new_client_id_creates_and_a_replay_changes_nothing(coalition, api):
    family_id = uuid.uuid4()
    body = enrollment_body(coalition.a.agency)
    for index, member in enumerate(body["caregivers"] + body["children"]):
        member["id"] = str(uuid.UUID(int=index + 1))

    first = api.put(f"/families/{family_id}", json=body)
    again = api.put(f"/families/{family_id}", json=body)

    assert first.status_code == 201
    assert first.get_json()["id"] == str(family_id)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["version"] == first.get_json()["version"] == 1
    assert again.headers["ETag"] == '"1"'
    assert [c["version"] for c in again.get_json()["caregivers"]] == [1, 1]
    assert counts() == (1, 2, 1)


def test_put_replaces_family_fields_upserts_listed_members_and_keeps_the_others(
    coalition, api, family
):
    child = family.children[0]
    baby_id = uuid.uuid4()
    body = {
        "enrolled_on": str(family.enrolled_on),
        "phone": "+16125550999",
        "children": [
            {
                "id": str(baby_id),
                "first_name": "Nueva",
                "last_name": "Rivera",
                "birth_date": "2026-01-01",
            }
        ],
    }

    response = api.put(f"/families/{family.id}", json=body)

    assert response.status_code == 200, response.get_json()
    replaced = response.get_json()
    assert replaced["version"] == 2
    assert replaced["phone"] == "+16125550999"
    assert replaced["household_size"] is None  # replaced: not sent, so cleared
    assert {c["id"] for c in replaced["children"]} == {str(child.id), str(baby_id)}
    assert [c["id"] for c in replaced["caregivers"]] == [str(family.primary_caregiver.id)]


def test_put_of_a_member_needs_its_id(api, family):
    body = {
        "enrolled_on": str(family.enrolled_on),
        "children": [{"first_name": "Sin", "last_name": "Id", "birth_date": "2026-01-01"}],
    }

    assert_problem(api.put(f"/families/{family.id}", json=body), 422, "children.0.id")


def test_put_of_another_agencys_family_is_a_404_and_changes_nothing(coalition, api):
    theirs = FamilyFactory(home_visitor=coalition.b.visitor, household_size=2)
    body = enrollment_body(coalition.a.agency, household_size=7)

    assert_problem(api.put(f"/families/{theirs.id}", json=body), 404)

    stored = fresh(Family, theirs.id)
    assert (stored.household_size, stored.version, stored.agency_id) == (
        2,
        1,
        coalition.b.agency.id,
    )


def test_a_put_body_naming_another_id_is_refused(coalition, api, family):
    """A tablet sending one family's record to another's address must not overwrite it."""
    other = FamilyFactory(home_visitor=coalition.a.visitor)
    body = {"id": str(other.id), "enrolled_on": str(family.enrolled_on), "household_size": 9}

    assert_problem(api.put(f"/families/{family.id}", json=body), 422, "id")
    assert_problem(api.put(f"/families/{uuid.uuid4()}", json=body), 422, "id")
    assert fresh(Family, family.id).household_size == 3
    assert counts()[0] == 2


def test_a_put_body_may_carry_its_own_id(api, family):
    body = {"id": str(family.id), "enrolled_on": str(family.enrolled_on), "household_size": 3}

    assert api.put(f"/families/{family.id}", json=body).status_code == 200


@pytest.mark.parametrize("field", ["home_visitor_id", "agency_id"])
def test_put_or_patch_may_not_reassign_the_family(coalition, api, family, field):
    other = {"home_visitor_id": coalition.a.other_visitor.id, "agency_id": coalition.b.agency.id}
    value = str(other[field])

    assert_problem(
        api.put(
            f"/families/{family.id}", json={"enrolled_on": str(family.enrolled_on), field: value}
        ),
        422,
        field,
    )
    assert_problem(api.patch(f"/families/{family.id}", json={field: value}), 422, field)
    stored = fresh(Family, family.id)
    assert (stored.home_visitor_id, stored.agency_id, stored.version) == (
        coalition.a.visitor.id,
        coalition.a.agency.id,
        1,
    )


def test_sending_back_the_same_home_visitor_and_agency_is_fine(coalition, api, family):
    response = api.patch(
        f"/families/{family.id}",
        json={
            "home_visitor_id": str(coalition.a.visitor.id),
            "agency_id": str(coalition.a.agency.id),
        },
    )

    assert response.status_code == 200
    assert response.get_json()["version"] == 1


@pytest.mark.parametrize("method", ["patch", "put"])
def test_an_unknown_field_is_a_422_naming_it(api, family, method):
    body = {"enrolled_on": str(family.enrolled_on), "colour": "blue"}

    assert_problem(getattr(api, method)(f"/families/{family.id}", json=body), 422, "colour")
    assert fresh(Family, family.id).version == 1


def test_a_tablet_may_send_back_exactly_what_it_received(api, family):
    received = api.get(f"/families/{family.id}").get_json()
    assert {"version", "created_at", "status", "attention", "next_visit"} <= set(received)

    response = api.put(f"/families/{family.id}", json=received)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1


def test_a_family_enrolled_without_consent_can_be_sent_back(coalition, api):
    body = enrollment_body(coalition.a.agency)
    del body["consent"]
    created = api.post("/families", json=body).get_json()

    response = api.put(f"/families/{created['id']}", json=created)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 1
    assert response.get_json()["consent"] == {"sms_reminders": False, "email_reminders": False}


def test_response_only_fields_sent_back_are_ignored(api, family):
    response = api.patch(
        f"/families/{family.id}",
        json={
            "household_size": 4,
            "version": 40,
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
            "voided_at": "2000-01-01T00:00:00Z",
            "void_reason": "sneaky",
            "status": "discharged",
            "discharged_on": "2026-01-01",
            "discharge_reason": "moved",
            "attention": ["no_visit_30d"],
            "screenings_due": [],
        },
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 2
    assert body["status"] == "enrolled"
    assert body["discharged_on"] is None
    assert body["voided_at"] is None
    assert "no_visit_30d" not in body["attention"]  # what was sent is not what is computed
    stored = fresh(Family, family.id)
    assert (stored.status, stored.voided_at, stored.household_size) == ("enrolled", None, 4)


# --- Idempotency-Key -----------------------------------------------------------------------


def test_the_same_key_and_body_answer_the_first_response_and_enroll_once(coalition, api):
    body = enrollment_body(coalition.a.agency)
    headers = {"Idempotency-Key": "tablet-7/enroll/42"}

    first = api.post("/families", json=body, headers=headers)
    again = api.post("/families", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert counts() == (1, 2, 1)
    assert len(audit_events("enroll")) == 1


def test_the_same_key_with_another_body_is_a_422(coalition, api):
    headers = {"Idempotency-Key": "k-1"}
    api.post("/families", json=enrollment_body(coalition.a.agency), headers=headers)

    other = enrollment_body(coalition.a.agency, household_size=5)
    assert_problem(api.post("/families", json=other, headers=headers), 422, "Idempotency-Key")
    assert counts()[0] == 1


def test_another_user_with_the_same_key_is_independent(coalition, api, api_as):
    headers = {"Idempotency-Key": "k-1"}
    mine = api.post("/families", json=enrollment_body(coalition.a.agency), headers=headers)
    theirs = api_as(coalition.b.visitor).post(
        "/families", json=enrollment_body(coalition.b.agency), headers=headers
    )

    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]
    assert theirs.get_json()["agency_id"] == str(coalition.b.agency.id)
    assert counts()[0] == 2


def test_a_refused_first_attempt_is_not_remembered(coalition, api):
    headers = {"Idempotency-Key": "k-2"}
    bad = enrollment_body(coalition.a.agency, phone="not a phone")

    assert_problem(api.post("/families", json=bad, headers=headers), 422, "phone")
    assert db.session.query(IdempotencyRecord).count() == 0
    fixed = api.post("/families", json=enrollment_body(coalition.a.agency), headers=headers)

    assert fixed.status_code == 201
    assert counts()[0] == 1


def test_a_refused_duplicate_is_not_remembered_either(coalition, api):
    FamilyFactory(
        home_visitor=coalition.a.visitor,
        caregiver__first_name="María",
        caregiver__last_name="González",
        caregiver__birth_date=date(1998, 4, 2),
    )
    headers = {"Idempotency-Key": "k-3"}
    body = enrollment_body(coalition.a.agency)

    assert_problem(api.post("/families", json=body, headers=headers), 409)
    confirmed = api.post("/families", json={**body, "confirm_not_duplicate": True}, headers=headers)

    assert confirmed.status_code == 201


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_key_out_of_bounds_is_a_422(coalition, api, key):
    response = api.post(
        "/families", json=enrollment_body(coalition.a.agency), headers={"Idempotency-Key": key}
    )

    assert_problem(response, 422, "Idempotency-Key")
    assert counts()[0] == 0


def test_adding_a_member_honours_the_key_too(api, family):
    headers = {"Idempotency-Key": "add-grandma"}
    body = {
        "first_name": "Rosa",
        "last_name": "Vega",
        "relationship": "grandparent",
        "primary": False,
    }

    first = api.post(f"/families/{family.id}/caregivers", json=body, headers=headers)
    again = api.post(f"/families/{family.id}/caregivers", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert api.get(f"/families/{family.id}/caregivers").get_json()["total"] == 2


# --- Voiding -------------------------------------------------------------------------------


@pytest.fixture
def supervisor_api(coalition, api_as):
    return api_as(coalition.a.supervisor)


def test_a_family_entered_by_mistake_is_voided_with_its_reason(supervisor_api, family):
    response = supervisor_api.delete(
        f"/families/{family.id}", query_string={"reason": "entered twice"}
    )

    assert response.status_code == 200
    voided = response.get_json()
    assert voided["voided_at"] is not None
    assert voided["void_reason"] == "entered twice"
    assert voided["version"] == 2
    assert response.headers["ETag"] == '"2"'
    assert fresh(Family, family.id).voided_at is not None  # voided, never deleted
    events = audit_events("void", object_id=family.id)
    assert [e.detail for e in events] == [{"reason": "entered twice"}]


def test_a_voided_family_is_hidden_from_lists_but_answers_its_own_id(
    coalition, supervisor_api, family
):
    kept = FamilyFactory(home_visitor=coalition.a.visitor)
    supervisor_api.delete(f"/families/{family.id}")

    listed = supervisor_api.get("/families").get_json()
    everything = supervisor_api.get("/families", query_string={"include_voided": "true"}).get_json()
    own = supervisor_api.get(f"/families/{family.id}")

    assert [f["id"] for f in listed["items"]] == [str(kept.id)]
    assert listed["total"] == 1
    assert {f["id"] for f in everything["items"]} == {str(kept.id), str(family.id)}
    assert own.status_code == 200
    assert own.get_json()["voided_at"] is not None


def test_a_voided_family_refuses_edits(coalition, supervisor_api, api, family):
    supervisor_api.delete(f"/families/{family.id}")
    put_body = {"enrolled_on": str(family.enrolled_on), "household_size": 8}

    assert_problem(api.patch(f"/families/{family.id}", json={"household_size": 8}), 409)
    assert_problem(api.put(f"/families/{family.id}", json=put_body), 409)
    assert_problem(
        supervisor_api.post(
            f"/families/{family.id}/assignment",
            json={"home_visitor_id": str(coalition.a.other_visitor.id)},
        ),
        409,
    )
    stored = fresh(Family, family.id)
    assert (stored.household_size, stored.version) == (3, 2)


def test_voiding_twice_answers_200_and_changes_nothing(supervisor_api, family):
    first = supervisor_api.delete(f"/families/{family.id}", query_string={"reason": "first"})
    again = supervisor_api.delete(f"/families/{family.id}", query_string={"reason": "second"})

    assert again.status_code == 200
    assert again.get_json()["version"] == first.get_json()["version"] == 2
    assert again.get_json()["void_reason"] == "first"
    assert again.get_json()["voided_at"] == first.get_json()["voided_at"]
    assert len(audit_events("void", object_id=family.id)) == 1


def test_a_void_without_a_reason_is_fine(supervisor_api, family):
    response = supervisor_api.delete(f"/families/{family.id}")

    assert response.status_code == 200
    assert response.get_json()["void_reason"] is None
