"""API.md's conventions on what a body may hold, beyond what the malformed-input battery
refuses: optional fields accept null, meaning none; If-Match takes the ETag's form."""

from __future__ import annotations

import uuid

from tests.api import assert_problem
from tests.factories import FamilyFactory, VisitFactory
from tests.families import enrollment_body
from tests.sync import visit_of


def test_optional_fields_accept_null_meaning_none(coalition, api_as):
    """A tablet sends null for what it does not know: the record is made as if the field were
    left out (an id the server chooses, an empty list, a default)."""
    visitor = api_as(coalition.a.visitor)
    body = enrollment_body(coalition.a.agency)
    for name in (
        "id",
        "agency_id",
        "home_visitor_id",
        "referral_source",
        "preferred_language",
        "address",
        "phone",
        "email",
        "consent",
        "risk_factors",
        "household_size",
        "annual_income",
        "pregnancy",
        "confirm_not_duplicate",
    ):
        body[name] = None
    body["caregivers"][1].update(id=None, family_id=None, birth_date=None, education=None)
    body["children"][0].update(id=None, sex=None, gestational_age_weeks=None, enrolled=None)

    response = visitor.post("/families", json=body)

    assert response.status_code == 201, response.get_json()
    family = response.get_json()
    assert uuid.UUID(family["id"])
    assert family["home_visitor_id"] == str(coalition.a.visitor.id)  # the default: the caller
    assert family["agency_id"] == str(coalition.a.agency.id)
    assert family["risk_factors"] == []
    assert (family["phone"], family["address"], family["household_size"]) == (None, None, None)
    assert family["children"][0]["enrolled"] is True  # the default
    assert family["children"][0]["sex"] is None

    visit = visitor.post(
        "/visits",
        json=visit_of(family["id"], id=None, participants=None, topics=None, notes=None),
    )
    assert visit.status_code == 201, visit.get_json()
    assert (visit.get_json()["participants"], visit.get_json()["topics"]) == ([], [])


def test_null_is_refused_where_a_field_is_required(coalition, api_as):
    visitor = api_as(coalition.a.visitor)
    body = enrollment_body(coalition.a.agency, enrolled_on=None)
    body["caregivers"][0]["first_name"] = None

    assert_problem(
        visitor.post("/families", json=body), 422, "enrolled_on", "caregivers.0.first_name"
    )


def test_if_match_takes_the_etag_a_list_of_tags_or_a_star(coalition, api_as):
    visitor = api_as(coalition.a.visitor)
    visit = VisitFactory(family=FamilyFactory(home_visitor=coalition.a.visitor))
    url = f"/visits/{visit.id}"

    for header, status in (
        ("{etag}", 200),
        ('"999", {etag}', 200),
        ("W/{etag}", 200),
        ("*", 200),
        ('"999"', 412),
        ("{version}", 400),  # unquoted
        ("", 400),
        ("{etag};", 400),
    ):
        etag = visitor.get(url).headers["ETag"]
        header = header.format(etag=etag, version=etag.strip('"'))
        response = visitor.patch(url, json={"notes": header}, headers={"If-Match": header})
        assert response.status_code == status, (header, response.get_json())
        if status == 400:
            assert "If-Match" in response.get_json()["detail"]
