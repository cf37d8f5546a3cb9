"""Two devices editing one household get a conflict, never a silent overwrite, nested members
included: a tablet that sends a family back with an older copy of a caregiver or child cannot
undo what the office corrected since (API.md, Sync, "Nested records")."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from hvcase.common.errors import StaleVersion
from hvcase.families import services
from hvcase.families.models import Caregiver, Child, Family
from hvcase.families.schemas import FamilyPutSchema
from tests.api import assert_problem
from tests.factories import FamilyFactory
from tests.families import audit_events, child_body, counts, enrollment_body, fresh


@pytest.fixture
def family(coalition):
    return FamilyFactory(
        home_visitor=coalition.a.visitor,
        caregiver__first_name="Karla",
        caregiver__last_name="Ramos",
        children=[{"first_name": "Jon", "last_name": "Ramos"}],
    )


@pytest.fixture
def office(coalition, api_as):
    """The agency's office: its admin, at a desk, correcting records."""
    return api_as(coalition.a.admin)


def on_the_tablet(api, family) -> dict[str, Any]:
    """The family as the tablet pulled it (GET), members with their versions."""
    return api.get(f"/families/{family.id}").get_json()


def correct(office, kind: str, member: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The office replaces a member through its own PUT; the corrected member."""
    response = office.put(f"/{kind}/{member['id']}", json={**member, **fields})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def updates_of(record_id: Any) -> list[uuid.UUID]:
    """Who wrote an ``update`` of the record, oldest first."""
    return [event.user_id for event in audit_events("update", object_id=record_id)]


# --- A stale member refuses the whole change ------------------------------------------------


def test_a_tablets_older_copy_cannot_undo_the_offices_name_correction(
    coalition, api, office, family
):
    pulled = on_the_tablet(api, family)
    caregiver_id = pulled["caregivers"][0]["id"]
    corrected = correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    assert corrected["version"] == 2

    # Back from a visit: a new phone number, and the household as it was pulled.
    response = api.put(f"/families/{family.id}", json={**pulled, "phone": "+16125550999"})

    problem = assert_problem(response, 412, "caregivers.0.version")
    assert response.headers["ETag"] == '"1"'  # the family's, as a stale If-Match answers
    assert "caregivers.0" in problem["detail"]
    assert problem["errors"]["caregivers.0.version"] == [
        "Changed since version 1; it is at version 2."
    ]
    caregiver = fresh(Caregiver, caregiver_id)
    assert (caregiver.first_name, caregiver.version) == ("Carla", 2)
    stored = fresh(Family, family.id)
    assert (stored.phone, stored.version) == ("+16125550100", 1)
    assert updates_of(family.id) == []
    assert updates_of(caregiver_id) == [coalition.a.admin.id]


def test_a_tablets_older_copy_cannot_undo_the_offices_birth_date_correction_of_a_child(
    coalition, api, office, family
):
    pulled = on_the_tablet(api, family)
    child_id = pulled["children"][0]["id"]
    correct(office, "children", pulled["children"][0], birth_date="2024-05-30")

    response = api.put(f"/families/{family.id}", json={**pulled, "household_size": 4})

    problem = assert_problem(response, 412, "children.0.version")
    assert "children.0" in problem["detail"]
    assert response.headers["ETag"] == '"1"'
    child = fresh(Child, child_id)
    assert (str(child.birth_date), child.version) == ("2024-05-30", 2)
    stored = fresh(Family, family.id)
    assert (stored.household_size, stored.version) == (None, 1)
    assert updates_of(family.id) == []
    assert updates_of(child_id) == [coalition.a.admin.id]


def test_nothing_of_the_change_applies_when_one_member_of_several_is_stale(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "children", pulled["children"][0], first_name="John")
    baby_id = uuid.uuid4()
    body = {
        **pulled,
        "caregivers": [{**pulled["caregivers"][0], "education": "some_college_or_training"}],
        "children": [*pulled["children"], child_body(id=str(baby_id))],
    }

    response = api.put(f"/families/{family.id}", json=body)

    assert_problem(response, 412, "children.0.version")
    assert fresh(Caregiver, pulled["caregivers"][0]["id"]).education is None
    assert fresh(Child, baby_id) is None
    assert counts() == (1, 1, 1)


def test_every_stale_member_is_named(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    correct(office, "children", pulled["children"][0], first_name="John")
    body = {
        **pulled,
        "caregivers": [{**pulled["caregivers"][0], "insurance": "private"}],
        "children": [{**pulled["children"][0], "sex": "X"}],
    }

    problem = assert_problem(api.put(f"/families/{family.id}", json=body), 412)

    assert set(problem["errors"]) == {"caregivers.0.version", "children.0.version"}


def test_a_version_the_server_never_gave_is_refused_too(api, family):
    pulled = on_the_tablet(api, family)
    caregiver = {**pulled["caregivers"][0], "first_name": "Carla", "version": 7}

    response = api.put(f"/families/{family.id}", json={**pulled, "caregivers": [caregiver]})

    problem = assert_problem(response, 412, "caregivers.0.version")
    assert problem["errors"]["caregivers.0.version"] == [
        "Never given: version 7; it is at version 1."
    ]
    assert fresh(Caregiver, caregiver["id"]).first_name == "Karla"


def test_the_service_raises_stale_version_for_sync_to_answer_as_a_conflict(
    coalition, api, office, family
):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    stored = fresh(Family, family.id)
    data = FamilyPutSchema().load(pulled)  # as /sync hands an upsert's data to the service

    with pytest.raises(StaleVersion) as raised:
        services.put_family(coalition.a.visitor, family.id, data, stored)

    assert raised.value.errors == {
        "caregivers.0.version": ["Changed since version 1; it is at version 2."]
    }
    assert raised.value.headers == {"ETag": '"1"'}


# --- What is not a conflict -----------------------------------------------------------------


def test_a_member_without_version_is_upserted_as_sent(coalition, api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    caregiver = {k: v for k, v in pulled["caregivers"][0].items() if k != "version"}

    response = api.put(f"/families/{family.id}", json={**pulled, "caregivers": [caregiver]})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["caregivers"][0]["first_name"] == "Karla"
    stored = fresh(Caregiver, caregiver["id"])
    assert (stored.first_name, stored.version) == ("Karla", 3)
    assert updates_of(family.id) == [coalition.a.visitor.id]


def test_a_null_version_is_no_version(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "children", pulled["children"][0], first_name="John")
    child = {**pulled["children"][0], "version": None}

    response = api.put(f"/families/{family.id}", json={**pulled, "children": [child]})

    assert response.status_code == 200, response.get_json()
    assert fresh(Child, child["id"]).first_name == "Jon"


def test_a_stale_member_identical_to_the_stored_one_is_no_conflict(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    # The tablet made the very same correction offline, on version 1.
    same = {**pulled["caregivers"][0], "first_name": "Carla"}

    response = api.put(f"/families/{family.id}", json={**pulled, "caregivers": [same]})

    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"1"'
    assert response.get_json()["caregivers"][0]["version"] == 2
    assert fresh(Caregiver, same["id"]).version == 2
    assert fresh(Family, family.id).version == 1
    assert updates_of(family.id) == []


def test_a_replayed_put_answers_as_before_once_its_members_have_moved_on(api, family):
    pulled = on_the_tablet(api, family)
    body = {
        **pulled,
        "caregivers": [{**pulled["caregivers"][0], "employment": "full_time"}],
    }
    first = api.put(f"/families/{family.id}", json=body)

    again = api.put(f"/families/{family.id}", json=body)  # still says version 1: now 2

    assert first.status_code == again.status_code == 200, again.get_json()
    assert again.get_json() == first.get_json()
    assert fresh(Caregiver, pulled["caregivers"][0]["id"]).version == 2


def test_a_member_at_its_current_version_is_changed_and_versioned(coalition, api, office, family):
    pulled = on_the_tablet(api, family)
    corrected = correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    child = {**pulled["children"][0], "first_name": "Jonathan"}  # version 1, still current
    caregiver = {**corrected, "employment": "part_time"}  # version 2, current since the office

    response = api.put(
        f"/families/{family.id}", json={**pulled, "caregivers": [caregiver], "children": [child]}
    )

    assert response.status_code == 200, response.get_json()
    answered = response.get_json()
    assert [(c["first_name"], c["version"]) for c in answered["caregivers"]] == [("Carla", 3)]
    assert [(c["first_name"], c["version"]) for c in answered["children"]] == [("Jonathan", 2)]
    stored = fresh(Caregiver, caregiver["id"])
    assert (stored.employment, stored.version) == ("part_time", 3)
    assert fresh(Child, child["id"]).version == 2
    assert updates_of(family.id) == [coalition.a.visitor.id]


def test_a_new_member_is_created_whatever_version_it_carries(api, family):
    pulled = on_the_tablet(api, family)
    baby_id = uuid.uuid4()
    baby = child_body(id=str(baby_id), version=3)

    response = api.put(
        f"/families/{family.id}", json={**pulled, "children": [*pulled["children"], baby]}
    )

    assert response.status_code == 200, response.get_json()
    assert fresh(Child, baby_id).version == 1


# --- Order of refusals and the body ---------------------------------------------------------


def test_a_malformed_body_is_a_422_before_a_stale_member(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")

    response = api.put(f"/families/{family.id}", json={**pulled, "household_size": "many"})

    assert_problem(response, 422, "household_size")


def test_a_stale_member_is_a_412_before_the_household_rules(api, office, family):
    pulled = on_the_tablet(api, family)
    correct(office, "caregivers", pulled["caregivers"][0], first_name="Carla")
    no_primary = {**pulled["caregivers"][0], "primary": False}

    response = api.put(f"/families/{family.id}", json={**pulled, "caregivers": [no_primary]})

    assert_problem(response, 412, "caregivers.0.version")


@pytest.mark.parametrize("version", ["2", 1.5, 0, True, 2**31])
def test_a_member_version_must_be_a_positive_integer(api, family, version):
    pulled = on_the_tablet(api, family)
    caregiver = {**pulled["caregivers"][0], "version": version}

    response = api.put(f"/families/{family.id}", json={**pulled, "caregivers": [caregiver]})

    assert_problem(response, 422, "caregivers.0.version")


def test_enrollment_still_ignores_member_versions(coalition, api):
    body = enrollment_body(coalition.a.agency)
    body["caregivers"][0]["version"] = 5

    response = api.post("/families", json=body)

    assert response.status_code == 201, response.get_json()
    assert [c["version"] for c in response.get_json()["caregivers"]] == [1, 1]


def test_the_openapi_document_declares_a_members_version_in_a_family_put(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    for kind, name in (("caregivers", "FamilyCaregiverPut"), ("children", "FamilyChildPut")):
        assert schemas["FamilyPut"]["properties"][kind]["items"]["$ref"].endswith(name)
        version = schemas[name]["properties"]["version"]
        assert (version["type"], version["minimum"]) == ("integer", 1)
        assert "412" in version["description"]
        # The other response-only fields stay accepted and ignored.
        assert "ignored" in schemas[name]["properties"]["updated_at"]["description"]
