"""Caregivers and children after enrollment: a grandmother moves in, a baby is born, the father
becomes the primary caregiver, a caregiver entered by mistake is voided."""

from __future__ import annotations

import uuid

import pytest

from hvcase.families.models import Caregiver, Child
from tests.api import assert_problem
from tests.factories import CaregiverFactory, FamilyFactory
from tests.families import audit_events, caregiver_body, child_body, counts, fresh


def primaries(api, family) -> list[str]:
    body = api.get(f"/families/{family.id}").get_json()
    return [c["id"] for c in body["caregivers"] if c["primary"]]


# --- Adding ----------------------------------------------------------------------------------


def test_a_grandmother_moves_in(api, family):
    response = api.post(f"/families/{family.id}/caregivers", json=caregiver_body())

    assert response.status_code == 201
    grandmother = response.get_json()
    assert response.headers["ETag"] == '"1"'
    assert grandmother["version"] == 1
    assert grandmother["family_id"] == str(family.id)
    assert grandmother["relationship"] == "grandparent"
    assert grandmother["primary"] is False
    assert fresh(Caregiver, grandmother["id"]).name_key == "rosa vega"
    listed = api.get(f"/families/{family.id}/caregivers").get_json()
    assert grandmother["id"] in {c["id"] for c in listed["items"]}
    assert listed["total"] == 2
    assert len(audit_events("create", object_type="caregiver", object_id=grandmother["id"])) == 1


def test_a_baby_is_born(api, family):
    baby_id = uuid.uuid4()
    response = api.post(
        f"/families/{family.id}/children",
        json=child_body(id=str(baby_id), gestational_age_weeks=39, birth_weight_grams=3400),
    )

    assert response.status_code == 201
    baby = response.get_json()
    assert baby["id"] == str(baby_id)
    assert baby["enrolled"] is True  # the default
    assert baby["birth_weight_grams"] == 3400
    children = api.get(f"/families/{family.id}/children").get_json()
    assert children["total"] == 2
    assert set(children) == {"items", "page", "per_page", "total"}


def test_a_new_primary_caregiver_demotes_the_previous_one(api, family):
    mother = family.primary_caregiver

    response = api.post(
        f"/families/{family.id}/caregivers",
        json=caregiver_body(first_name="Luis", relationship="father", primary=True),
    )

    assert response.status_code == 201
    assert primaries(api, family) == [response.get_json()["id"]]
    demoted = fresh(Caregiver, mother.id)
    assert demoted.primary is False
    assert demoted.version == 2  # a change, so a new version a tablet will pull


def test_making_a_caregiver_primary_by_patch_demotes_the_previous_one(api, family):
    father = CaregiverFactory(family=family, relationship_to_child="father")

    response = api.patch(f"/caregivers/{father.id}", json={"primary": True})

    assert response.status_code == 200
    assert response.get_json()["version"] == 2
    assert primaries(api, family) == [str(father.id)]


def test_the_only_primary_caregiver_cannot_stop_being_primary(api, family):
    mother = family.primary_caregiver

    assert_problem(api.patch(f"/caregivers/{mother.id}", json={"primary": False}), 422, "primary")
    assert fresh(Caregiver, mother.id).primary is True


def test_a_child_born_before_a_caregiver_is_refused(api, family):
    before = counts()

    assert_problem(
        api.post(f"/families/{family.id}/children", json=child_body(birth_date="1990-01-01")),
        422,
        "birth_date",
    )
    assert counts() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gestational_age_weeks": 19}, "gestational_age_weeks"),
        ({"gestational_age_days": -1}, "gestational_age_days"),
        ({"sex": "female"}, "sex"),
        ({"birth_date": "tomorrow"}, "birth_date"),
        ({"shoe_size": 3}, "shoe_size"),
    ],
)
def test_a_child_with_a_bad_field_is_refused(api, family, change, field):
    before = counts()

    assert_problem(
        api.post(f"/families/{family.id}/children", json=child_body(**change)), 422, field
    )
    assert counts() == before


def test_a_member_posted_with_another_familys_id_is_refused(coalition, api, family):
    elsewhere = FamilyFactory(home_visitor=coalition.a.visitor)

    assert_problem(
        api.post(
            f"/families/{family.id}/caregivers", json=caregiver_body(family_id=str(elsewhere.id))
        ),
        422,
        "family_id",
    )


# --- Reading, changing, replacing ------------------------------------------------------------


def test_a_caregiver_and_a_child_are_read_with_their_etag(api, family):
    mother = family.primary_caregiver
    child = family.children[0]

    for path, record in ((f"/caregivers/{mother.id}", mother), (f"/children/{child.id}", child)):
        response = api.get(path)
        assert response.status_code == 200
        assert response.get_json()["id"] == str(record.id)
        assert response.headers["ETag"] == '"1"'


def test_a_patched_name_is_found_by_search_under_its_new_spelling(api, family):
    mother = family.primary_caregiver

    response = api.patch(f"/caregivers/{mother.id}", json={"last_name": "Åberg-Núñez"})

    assert response.status_code == 200
    assert response.get_json()["version"] == 2
    assert fresh(Caregiver, mother.id).name_key.endswith(" aberg-nunez")
    found = api.get("/families", query_string={"q": "ABERG-nunez"}).get_json()
    assert [f["id"] for f in found["items"]] == [str(family.id)]


def test_put_creates_a_caregiver_with_its_family_and_a_replay_changes_nothing(api, family):
    new_id = uuid.uuid4()
    body = caregiver_body(family_id=str(family.id))

    first = api.put(f"/caregivers/{new_id}", json=body)
    again = api.put(f"/caregivers/{new_id}", json=body)

    assert first.status_code == 201
    assert again.status_code == 200
    assert first.get_json()["version"] == again.get_json()["version"] == 1
    assert again.headers["ETag"] == '"1"'


def test_put_creates_a_child_and_a_replay_changes_nothing(api, family):
    new_id = uuid.uuid4()
    body = child_body(family_id=str(family.id))

    first = api.put(f"/children/{new_id}", json=body)
    again = api.put(f"/children/{new_id}", json=body)

    assert first.status_code == 201
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["version"] == 1
    assert fresh(Child, new_id).enrolled is True


def test_put_of_an_existing_child_without_enrolled_keeps_the_default(api, family):
    child = family.children[0]
    body = {
        "first_name": child.first_name,
        "last_name": child.last_name,
        "birth_date": str(child.birth_date),
        "sex": child.sex,
    }

    response = api.put(f"/children/{child.id}", json=body)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["enrolled"] is True
    assert response.get_json()["version"] == 1


def test_put_replaces_every_writable_field(api, family):
    mother = family.primary_caregiver
    body = caregiver_body(
        first_name=mother.first_name,
        last_name=mother.last_name,
        primary=True,
        relationship="mother",
    )

    response = api.put(f"/caregivers/{mother.id}", json=body)

    assert response.status_code == 200
    replaced = response.get_json()
    assert replaced["birth_date"] == "1970-05-05"
    assert replaced["education"] is None
    assert replaced["version"] == 2


@pytest.mark.parametrize(
    ("plural", "body"), [("caregivers", caregiver_body()), ("children", child_body())]
)
def test_put_of_a_new_member_without_family_id_is_refused(api, plural, body):
    new_id = uuid.uuid4()
    before = counts()

    assert_problem(api.put(f"/{plural}/{new_id}", json=body), 422, "family_id")
    assert counts() == before


def test_put_of_a_new_member_into_a_family_out_of_scope_is_a_404(coalition, api):
    theirs = FamilyFactory(home_visitor=coalition.a.other_visitor)
    before = counts()

    assert_problem(
        api.put(f"/caregivers/{uuid.uuid4()}", json=caregiver_body(family_id=str(theirs.id))), 404
    )
    assert counts() == before


def test_a_members_family_cannot_change(coalition, api, family):
    elsewhere = FamilyFactory(home_visitor=coalition.a.visitor)
    mother = family.primary_caregiver
    child = family.children[0]

    assert_problem(
        api.patch(f"/caregivers/{mother.id}", json={"family_id": str(elsewhere.id)}),
        422,
        "family_id",
    )
    put_body = child_body(family_id=str(elsewhere.id), birth_date=str(child.birth_date))
    assert_problem(api.put(f"/children/{child.id}", json=put_body), 422, "family_id")
    assert fresh(Caregiver, mother.id).family_id == family.id
    assert fresh(Child, child.id).family_id == family.id


def test_the_id_in_a_body_must_be_the_id_of_the_path(api, family):
    mother = family.primary_caregiver
    body = caregiver_body(id=str(uuid.uuid4()), family_id=str(family.id))
    before = counts()

    assert_problem(api.put(f"/caregivers/{uuid.uuid4()}", json=body), 422, "id")
    assert_problem(api.put(f"/caregivers/{mother.id}", json=body), 422, "id")
    assert counts() == before

    assert_problem(api.patch(f"/caregivers/{mother.id}", json={"id": str(uuid.uuid4())}), 422, "id")


def test_a_child_cannot_be_moved_to_before_its_caregivers_birth(api, family):
    child = family.children[0]

    assert_problem(
        api.patch(f"/children/{child.id}", json={"birth_date": "1980-01-01"}), 422, "birth_date"
    )
    assert fresh(Child, child.id).version == 1


def test_a_stale_if_match_on_a_member_is_a_412_and_changes_nothing(api, family):
    mother = family.primary_caregiver

    assert_problem(
        api.patch(
            f"/caregivers/{mother.id}", json={"first_name": "X"}, headers={"If-Match": '"7"'}
        ),
        412,
    )
    assert fresh(Caregiver, mother.id).first_name == mother.first_name


# --- Voiding -------------------------------------------------------------------------------


def test_a_caregiver_entered_by_mistake_is_voided_and_hidden(api, family):
    extra = CaregiverFactory(family=family)

    response = api.delete(f"/caregivers/{extra.id}", query_string={"reason": "entered twice"})

    assert response.status_code == 200
    voided = response.get_json()
    assert voided["voided_at"] is not None
    assert voided["void_reason"] == "entered twice"
    assert voided["version"] == 2
    listed = api.get(f"/families/{family.id}/caregivers").get_json()["items"]
    assert str(extra.id) not in {c["id"] for c in listed}
    everyone = api.get(
        f"/families/{family.id}/caregivers", query_string={"include_voided": "true"}
    ).get_json()["items"]
    assert str(extra.id) in {c["id"] for c in everyone}
    assert api.get(f"/caregivers/{extra.id}").status_code == 200
    assert fresh(Caregiver, extra.id) is not None  # voided, never deleted
    assert len(audit_events("void", object_type="caregiver", object_id=extra.id)) == 1


def test_voiding_twice_answers_200_and_changes_nothing(api, family):
    child = family.children[0]

    first = api.delete(f"/children/{child.id}", query_string={"reason": "wrong family"})
    again = api.delete(f"/children/{child.id}", query_string={"reason": "another reason"})

    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert len(audit_events("void", object_type="child", object_id=child.id)) == 1


def test_a_voided_member_refuses_edits(api, family):
    child = family.children[0]
    api.delete(f"/children/{child.id}")
    body = child_body(birth_date=str(child.birth_date))

    assert_problem(api.patch(f"/children/{child.id}", json={"first_name": "New"}), 409)
    assert_problem(api.put(f"/children/{child.id}", json=body), 409)
    assert fresh(Child, child.id).first_name == child.first_name


def test_the_primary_caregiver_is_not_voided_while_others_remain(api, family):
    CaregiverFactory(family=family)
    mother = family.primary_caregiver

    assert_problem(api.delete(f"/caregivers/{mother.id}"), 409)
    assert fresh(Caregiver, mother.id).voided_at is None


def test_a_member_of_a_voided_family_is_not_added(coalition, api_as, family):
    api_as(coalition.a.supervisor).delete(f"/families/{family.id}")
    before = counts()

    assert_problem(
        api_as(coalition.a.visitor).post(f"/families/{family.id}/children", json=child_body()),
        409,
    )
    assert counts() == before


def test_member_lists_are_newest_first_and_paged(api, family):
    for n in range(3):
        CaregiverFactory(family=family, first_name=f"Extra{n}")

    page = api.get(f"/families/{family.id}/caregivers", query_string={"per_page": 2}).get_json()

    assert page["total"] == 4
    assert page["per_page"] == 2
    assert [c["first_name"] for c in page["items"]] == ["Extra2", "Extra1"]
    assert_problem(
        api.get(f"/families/{family.id}/caregivers", query_string={"per_page": 201}),
        422,
        "per_page",
    )
