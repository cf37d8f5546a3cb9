"""Enrolling a household (POST /families): a home visitor on a tablet sends the family, its
caregivers and its children at once, and either all of it is stored or none of it is."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from tests.api import assert_problem
from tests.factories import CaregiverFactory, FamilyFactory, UserFactory, agency_today
from tests.families import audit_events, counts, days_ago, enrollment_body

# --- A household enrolled ------------------------------------------------------------------


def test_a_home_visitor_enrolls_a_household_with_everything_it_said(coalition, api_as):
    a = coalition.a
    body = enrollment_body(a.agency, pregnancy={"expected_delivery_date": "2030-01-15"})

    response = api_as(a.visitor).post("/families", json=body)

    assert response.status_code == 201, response.get_json()
    family = response.get_json()
    assert response.headers["ETag"] == '"1"'
    assert family["version"] == 1
    assert family["agency_id"] == str(a.agency.id)
    assert family["home_visitor_id"] == str(a.visitor.id)  # the caller, by default
    assert family["status"] == "enrolled"
    assert family["discharged_on"] is None
    assert family["voided_at"] is None
    assert family["attention"] == []
    assert family["address"]["postal_code"] == "55408"
    assert family["pregnancy"] == {"expected_delivery_date": "2030-01-15"}
    assert family["consent"] == {"sms_reminders": True, "email_reminders": False}
    assert [c["first_name"] for c in family["caregivers"]] == ["María", "José"]
    assert [c["primary"] for c in family["caregivers"]] == [True, False]
    assert {c["family_id"] for c in family["caregivers"] + family["children"]} == {family["id"]}
    assert family["children"][0]["enrolled"] is True
    assert family["children"][0]["gestational_age_weeks"] == 36

    # Stored as sent, with its first enrollment episode and its assignment.
    row = db.session.get(Family, uuid.UUID(family["id"]))
    assert row.primary_caregiver.name_key == "maria gonzalez"
    episodes = db.session.scalars(select(Enrollment).where(Enrollment.family_id == row.id)).all()
    assert [(e.enrolled_on, e.discharged_on) for e in episodes] == [(row.enrolled_on, None)]
    history = db.session.scalars(select(Assignment).where(Assignment.family_id == row.id)).all()
    assert [(h.home_visitor_id, h.assigned_by) for h in history] == [(a.visitor.id, a.visitor.id)]
    assert len(audit_events("enroll", object_id=row.id, user_id=a.visitor.id)) == 1


def test_a_supervisor_enrolls_for_themself_and_an_agency_admin_leaves_it_unassigned(
    coalition, api_as
):
    a = coalition.a
    by_supervisor = api_as(a.supervisor).post("/families", json=enrollment_body(a.agency))
    by_admin = api_as(a.admin).post(
        "/families", json=enrollment_body(a.agency, confirm_not_duplicate=True)
    )

    assert by_supervisor.status_code == 201
    assert by_supervisor.get_json()["home_visitor_id"] == str(a.supervisor.id)
    assert by_admin.status_code == 201
    assert by_admin.get_json()["home_visitor_id"] is None


def test_a_supervisor_and_an_admin_may_name_a_home_visitor_of_the_agency(coalition, api_as):
    a = coalition.a
    for caller, visitor in ((a.supervisor, a.visitor), (a.admin, a.other_visitor)):
        body = enrollment_body(a.agency, home_visitor_id=str(visitor.id))
        body["caregivers"][0]["first_name"] = f"For {visitor.email}"

        response = api_as(caller).post("/families", json=body)

        assert response.status_code == 201, response.get_json()
        assert response.get_json()["home_visitor_id"] == str(visitor.id)


def test_a_home_visitor_may_name_themself(coalition, api_as):
    a = coalition.a
    body = enrollment_body(a.agency, home_visitor_id=str(a.visitor.id), agency_id=str(a.agency.id))

    response = api_as(a.visitor).post("/families", json=body)

    assert response.status_code == 201
    assert response.get_json()["home_visitor_id"] == str(a.visitor.id)


def test_a_client_id_is_kept_for_the_family_and_its_members(coalition, api_as):
    a = coalition.a
    family_id, mother_id, baby_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    body = enrollment_body(a.agency, id=str(family_id))
    body["caregivers"][0]["id"] = str(mother_id)
    body["children"][0]["id"] = str(baby_id)

    response = api_as(a.visitor).post("/families", json=body)

    assert response.status_code == 201
    family = response.get_json()
    assert family["id"] == str(family_id)
    assert family["caregivers"][0]["id"] == str(mother_id)
    assert family["children"][0]["id"] == str(baby_id)


def test_a_household_child_the_program_does_not_serve_is_kept_with_enrolled_false(
    coalition, api_as
):
    a = coalition.a
    body = enrollment_body(a.agency)
    body["children"].append(
        {
            "first_name": "Diego",
            "last_name": "González",
            "birth_date": "2019-07-01",
            "enrolled": False,
        }
    )

    response = api_as(a.visitor).post("/families", json=body)

    assert response.status_code == 201
    assert {c["first_name"]: c["enrolled"] for c in response.get_json()["children"]} == {
        "Lucía": True,
        "Diego": False,
    }


# --- All or nothing ------------------------------------------------------------------------


def assert_nothing_written(coalition, api_as, body: dict, *fields: str, caller=None) -> dict:
    """The enrollment is a 422 naming ``fields``, and no family, caregiver or child is stored."""
    before = counts()
    problem = assert_problem(
        api_as(caller or coalition.a.visitor).post("/families", json=body), 422, *fields
    )
    assert counts() == before
    assert audit_events("enroll") == []
    return problem


def test_one_child_born_in_the_future_sinks_the_whole_enrollment(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    tomorrow = agency_today(coalition.a.agency) + timedelta(days=1)
    body["children"][0]["birth_date"] = str(tomorrow)

    assert_nothing_written(coalition, api_as, body, "children.0.birth_date")


def test_a_child_of_19_weeks_gestation_sinks_the_whole_enrollment(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    body["children"][0]["gestational_age_weeks"] = 19

    assert_nothing_written(coalition, api_as, body, "children.0.gestational_age_weeks")


def test_the_second_child_is_named_by_its_own_index(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    body["children"].append(
        {"first_name": "Ana", "last_name": "González", "birth_date": "2024-01-01", "sex": "Q"}
    )

    problem = assert_nothing_written(coalition, api_as, body, "children.1.sex")
    assert "children.0.sex" not in problem["errors"]


@pytest.mark.parametrize("primaries", [0, 2])
def test_exactly_one_caregiver_is_primary(coalition, api_as, primaries):
    body = enrollment_body(coalition.a.agency)
    for index, caregiver in enumerate(body["caregivers"]):
        caregiver["primary"] = index < primaries

    assert_nothing_written(coalition, api_as, body, "caregivers")


def test_at_least_one_caregiver_is_needed(coalition, api_as):
    assert_nothing_written(
        coalition, api_as, enrollment_body(coalition.a.agency, caregivers=[]), "caregivers"
    )
    body = enrollment_body(coalition.a.agency)
    del body["caregivers"]
    assert_nothing_written(coalition, api_as, body, "caregivers")


def test_a_child_cannot_be_born_before_a_caregiver(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    body["children"][0]["birth_date"] = "1997-01-01"  # before the mother (1998-04-02)

    assert_nothing_written(coalition, api_as, body, "children.0.birth_date")


def test_a_caregiver_born_in_the_future_is_refused(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    body["caregivers"][1]["birth_date"] = str(agency_today(coalition.a.agency) + timedelta(days=3))

    assert_nothing_written(coalition, api_as, body, "caregivers.1.birth_date")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "612-555-0123"}, "phone"),
        ({"phone": "+0612555"}, "phone"),
        ({"email": "not an email"}, "email"),
        ({"preferred_language": "español"}, "preferred_language"),
        ({"household_size": 0}, "household_size"),
        ({"household_size": 21}, "household_size"),
        ({"annual_income": -1}, "annual_income"),
        ({"risk_factors": ["poverty"]}, "risk_factors.0"),
        ({"referral_source": "billboard"}, "referral_source"),
        ({"consent": {"sms_reminders": True}}, "consent.email_reminders"),
        ({"enrolled_on": "2025-02-30"}, "enrolled_on"),
        ({"pregnancy": {}}, "pregnancy.expected_delivery_date"),
    ],
)
def test_family_fields_are_checked_and_named(coalition, api_as, change, field):
    assert_nothing_written(coalition, api_as, enrollment_body(coalition.a.agency, **change), field)


@pytest.mark.parametrize(
    ("address_change", "field"),
    [
        ({"postal_code": "5540"}, "address.postal_code"),
        ({"postal_code": "55408-12"}, "address.postal_code"),
        ({"state": "XX"}, "address.state"),
        ({"state": "mn"}, "address.state"),
        ({"city": ""}, "address.city"),
        ({"street": None}, "address.street"),
    ],
)
def test_address_fields_are_checked_and_named(coalition, api_as, address_change, field):
    body = enrollment_body(coalition.a.agency)
    body["address"].update(address_change)

    assert_nothing_written(coalition, api_as, body, field)


def test_a_plus_four_postal_code_and_a_territory_are_accepted(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    body["address"].update(state="PR", postal_code="00901-1234")

    response = api_as(coalition.a.visitor).post("/families", json=body)

    assert response.status_code == 201
    assert response.get_json()["address"]["state"] == "PR"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"relationship": "aunt"}, "caregivers.0.relationship"),
        ({"education": "phd"}, "caregivers.0.education"),
        ({"first_name": ""}, "caregivers.0.first_name"),
        ({"primary": None}, "caregivers.0.primary"),
        ({"nickname": "Mari"}, "caregivers.0.nickname"),
    ],
)
def test_caregiver_fields_are_checked_and_named(coalition, api_as, change, field):
    body = enrollment_body(coalition.a.agency)
    body["caregivers"][0].update(change)

    assert_nothing_written(coalition, api_as, body, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"gestational_age_weeks": 45}, "children.0.gestational_age_weeks"),
        ({"gestational_age_days": 7}, "children.0.gestational_age_days"),
        ({"birth_weight_grams": 299}, "children.0.birth_weight_grams"),
        ({"birth_weight_grams": 6501}, "children.0.birth_weight_grams"),
        ({"birth_date": None}, "children.0.birth_date"),
    ],
)
def test_child_fields_are_checked_and_named(coalition, api_as, change, field):
    body = enrollment_body(coalition.a.agency)
    body["children"][0].update(change)

    assert_nothing_written(coalition, api_as, body, field)


def test_an_unknown_field_is_named(coalition, api_as):
    body = enrollment_body(coalition.a.agency, favourite_colour="blue")

    assert_nothing_written(coalition, api_as, body, "favourite_colour")


def test_enrolled_on_cannot_be_in_the_future(coalition, api_as):
    tomorrow = agency_today(coalition.a.agency) + timedelta(days=1)
    body = enrollment_body(coalition.a.agency, enrolled_on=str(tomorrow))

    assert_nothing_written(coalition, api_as, body, "enrolled_on")


@pytest.mark.parametrize("caller", ["visitor", "supervisor", "admin"])
def test_a_family_is_enrolled_in_the_callers_own_agency(coalition, api_as, caller):
    body = enrollment_body(coalition.a.agency, agency_id=str(coalition.b.agency.id))

    assert_nothing_written(
        coalition, api_as, body, "agency_id", caller=getattr(coalition.a, caller)
    )


def test_a_home_visitor_may_not_name_another_home_visitor(coalition, api_as):
    a = coalition.a
    body = enrollment_body(a.agency, home_visitor_id=str(a.other_visitor.id))

    assert_nothing_written(coalition, api_as, body, "home_visitor_id")


def test_the_named_home_visitor_is_active_staff_who_visit_in_the_agency(coalition, api_as):
    a = coalition.a
    inactive = UserFactory(role="home_visitor", agency=a.agency, active=False)
    for outsider in (coalition.b.visitor, inactive, a.admin, coalition.fiscal_host, uuid.uuid4()):
        outsider_id = getattr(outsider, "id", outsider)
        body = enrollment_body(a.agency, home_visitor_id=str(outsider_id))

        assert_nothing_written(coalition, api_as, body, "home_visitor_id", caller=a.supervisor)


def test_a_client_id_listed_twice_is_refused(coalition, api_as):
    body = enrollment_body(coalition.a.agency)
    same = str(uuid.uuid4())
    body["caregivers"][0]["id"] = body["caregivers"][1]["id"] = same

    assert_nothing_written(coalition, api_as, body, "caregivers.1.id")


def test_a_client_id_that_exists_already_is_a_conflict_and_writes_nothing(coalition, api_as):
    existing = FamilyFactory(home_visitor=coalition.a.visitor)
    before = counts()

    response = api_as(coalition.a.visitor).post(
        "/families", json=enrollment_body(coalition.a.agency, id=str(existing.id))
    )

    assert_problem(response, 409)
    assert counts() == before


# --- Duplicate households ------------------------------------------------------------------


BIRTH_DATE = date(1998, 4, 2)


def enrolled_zoe(home_visitor, **fields):
    """Zoë Núñez, enrolled already."""
    return FamilyFactory(
        home_visitor=home_visitor,
        caregiver__first_name="Zoë",
        caregiver__last_name="Núñez",
        caregiver__birth_date=BIRTH_DATE,
        **fields,
    )


def zoe_again(agency, **fields) -> dict:
    """A tablet enrolling her again, typed without accents and in capitals."""
    body = enrollment_body(agency, **fields)
    body["caregivers"][0].update(first_name="ZOE", last_name="nunez", birth_date=str(BIRTH_DATE))
    return body


def test_the_same_primary_caregiver_is_a_409_naming_the_family_the_caller_sees(coalition, api_as):
    twin = enrolled_zoe(coalition.a.visitor)
    before = counts()

    problem = assert_problem(
        api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency)), 409
    )

    assert str(twin.id) in problem["detail"]
    assert "confirm_not_duplicate" in problem["detail"]
    assert counts() == before


def test_the_409_does_not_name_a_family_the_caller_cannot_see(coalition, api_as):
    twin = enrolled_zoe(coalition.a.other_visitor)

    problem = assert_problem(
        api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency)), 409
    )

    assert str(twin.id) not in problem["detail"]


def test_a_supervisor_is_told_which_of_their_visitors_families_it_is(coalition, api_as):
    twin = enrolled_zoe(coalition.a.other_visitor)

    problem = assert_problem(
        api_as(coalition.a.supervisor).post("/families", json=zoe_again(coalition.a.agency)), 409
    )

    assert str(twin.id) in problem["detail"]


def test_confirm_not_duplicate_enrolls_the_second_household(coalition, api_as):
    enrolled_zoe(coalition.a.visitor)

    response = api_as(coalition.a.visitor).post(
        "/families", json=zoe_again(coalition.a.agency, confirm_not_duplicate=True)
    )

    assert response.status_code == 201
    assert counts()[0] == 2


def test_a_discharged_family_is_no_duplicate(coalition, api_as):
    enrolled_zoe(
        coalition.a.visitor,
        enrolled_on=days_ago(coalition.a.agency, 400),
        status="discharged",
        discharged_on=days_ago(coalition.a.agency, 100),
        discharge_reason="moved",
    )

    response = api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency))

    assert response.status_code == 201, response.get_json()


def test_a_voided_family_is_no_duplicate(coalition, api_as):
    enrolled_zoe(coalition.a.visitor, voided_at=utcnow(), void_reason="entered twice")

    response = api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency))

    assert response.status_code == 201, response.get_json()


def test_another_agencys_family_is_no_duplicate(coalition, api_as):
    enrolled_zoe(coalition.b.visitor)

    response = api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency))

    assert response.status_code == 201


def test_another_birth_date_is_no_duplicate(coalition, api_as):
    enrolled_zoe(coalition.a.visitor)
    body = zoe_again(coalition.a.agency)
    body["caregivers"][0]["birth_date"] = "1998-04-03"

    assert api_as(coalition.a.visitor).post("/families", json=body).status_code == 201


def test_a_new_household_where_she_is_not_the_primary_caregiver_is_no_duplicate(coalition, api_as):
    enrolled_zoe(coalition.a.visitor)
    body = zoe_again(coalition.a.agency)
    body["caregivers"][0]["primary"] = False
    body["caregivers"][1]["primary"] = True

    assert api_as(coalition.a.visitor).post("/families", json=body).status_code == 201


def test_only_the_existing_familys_primary_caregiver_is_matched(coalition, api_as):
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    CaregiverFactory(
        family=family, first_name="Zoë", last_name="Núñez", birth_date=BIRTH_DATE, primary=False
    )

    response = api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency))

    assert response.status_code == 201


def test_a_refused_duplicate_writes_no_member_either(coalition, api_as):
    enrolled_zoe(coalition.a.visitor)

    api_as(coalition.a.visitor).post("/families", json=zoe_again(coalition.a.agency))

    assert db.session.scalar(select(Caregiver).where(Caregiver.first_name == "ZOE")) is None
    assert db.session.scalar(select(Child).where(Child.first_name == "Lucía")) is None
