"""A supervisor's morning: the family list in a stable order, filtered by status, home visitor
and attention, searched by a name typed without accents or by a phone number, page by page,
in a fixed number of SQL queries whatever the page size."""

from __future__ import annotations

import uuid

import pytest

from hvcase.common.time import utcnow
from tests.api import assert_problem, counting_queries
from tests.factories import CaregiverFactory, ChildFactory, FamilyFactory
from tests.families import days_ago


@pytest.fixture
def api(coalition, api_as):
    return api_as(coalition.a.supervisor)


def listed(api, **query) -> list[str]:
    response = api.get("/families", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def family_named(visitor, last_name: str, first_name: str = "Ana", **fields):
    return FamilyFactory(
        home_visitor=visitor,
        caregiver__last_name=last_name,
        caregiver__first_name=first_name,
        **fields,
    )


# --- Order ---------------------------------------------------------------------------------


def test_families_are_ordered_by_the_primary_caregivers_last_name_then_id(coalition, api):
    a = coalition.a
    cruz = family_named(a.visitor, "Cruz")
    adams = family_named(a.other_visitor, "adams")
    bakers = [family_named(a.visitor, "Baker", first_name=f"B{n}") for n in range(3)]

    expected = [adams.id, *sorted(f.id for f in bakers), cruz.id]
    assert listed(api) == [str(i) for i in expected]


def test_a_secondary_caregivers_name_does_not_move_the_family(coalition, api):
    a = coalition.a
    young = family_named(a.visitor, "Young")
    CaregiverFactory(family=young, last_name="Aaron", primary=False)
    middle = family_named(a.visitor, "Moss")

    assert listed(api) == [str(middle.id), str(young.id)]


# --- Filters -------------------------------------------------------------------------------


def test_status_filters_enrolled_and_discharged(coalition, api):
    a = coalition.a
    here = family_named(a.visitor, "Here")
    gone = family_named(
        a.visitor,
        "Gone",
        enrolled_on=days_ago(a.agency, 90),
        status="discharged",
        discharged_on=days_ago(a.agency, 10),
        discharge_reason="moved",
    )

    assert listed(api, status="enrolled") == [str(here.id)]
    assert listed(api, status="discharged") == [str(gone.id)]
    assert set(listed(api)) == {str(here.id), str(gone.id)}
    assert_problem(api.get("/families", query_string={"status": "paused"}), 422, "status")


def test_home_visitor_id_filters_a_caseload(coalition, api):
    a = coalition.a
    mine = family_named(a.visitor, "Mine")
    family_named(a.other_visitor, "Theirs")

    assert listed(api, home_visitor_id=str(a.visitor.id)) == [str(mine.id)]


def test_a_home_visitor_outside_scope_gives_an_empty_list_not_a_404(coalition, api_as):
    a = coalition.a
    family_named(a.other_visitor, "Theirs")
    family_named(coalition.b.visitor, "Elsewhere")
    visitor = api_as(a.visitor)

    for outsider in (a.other_visitor.id, coalition.b.visitor.id, uuid.uuid4()):
        response = visitor.get("/families", query_string={"home_visitor_id": str(outsider)})
        assert response.status_code == 200
        assert response.get_json()["items"] == []
        assert response.get_json()["total"] == 0


@pytest.fixture
def searchable(coalition):
    a = coalition.a
    return {
        "nunez": FamilyFactory(
            home_visitor=a.visitor,
            caregiver__first_name="Zoë",
            caregiver__last_name="Núñez",
            phone="+16125550123",
        ),
        "child": FamilyFactory(
            home_visitor=a.visitor,
            caregiver__first_name="Pat",
            caregiver__last_name="Smith",
            children=[{"first_name": "Ángel", "last_name": "Smith"}],
            phone="+16515550188",
        ),
        "other": FamilyFactory(
            home_visitor=a.other_visitor,
            caregiver__first_name="Lee",
            caregiver__last_name="Wong",
            phone="+17635550177",
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("nunez", {"nunez"}),
        ("NÚÑEZ", {"nunez"}),
        ("zoe nunez", {"nunez"}),
        ("ZOË", {"nunez"}),
        ("angel", {"child"}),
        ("ÁNGEL smith", {"child"}),
        ("smith", {"child"}),
        ("wong", {"other"}),
        ("612-555-0123", {"nunez"}),
        ("(651) 555", {"child"}),
        ("5550", {"nunez", "child", "other"}),
        ("%", set()),
        ("_", set()),
        ("nobody", set()),
    ],
)
def test_q_finds_caregivers_and_children_without_case_or_accents_and_phone_digits(
    api, searchable, q, expected
):
    assert set(listed(api, q=q)) == {str(searchable[name].id) for name in expected}


def test_q_ignores_a_voided_caregiver(coalition, api, searchable):
    CaregiverFactory(family=searchable["other"], last_name="Hidden", voided_at=utcnow())

    assert listed(api, q="hidden") == []


def test_q_stays_within_scope(coalition, api_as, searchable):
    visitor = api_as(coalition.a.visitor)

    assert listed(visitor, q="wong") == []
    assert set(listed(visitor, q="5550")) == {
        str(searchable["nunez"].id),
        str(searchable["child"].id),
    }


def test_needs_attention_lists_families_without_a_visit_for_30_days(coalition, api):
    a = coalition.a
    overdue = family_named(a.visitor, "Overdue", enrolled_on=days_ago(a.agency, 40))
    family_named(a.visitor, "Fresh", enrolled_on=days_ago(a.agency, 0))
    family_named(
        a.visitor,
        "Discharged",
        enrolled_on=days_ago(a.agency, 90),
        status="discharged",
        discharged_on=days_ago(a.agency, 1),
        discharge_reason="moved",
    )

    items = {f["caregivers"][0]["last_name"]: f for f in api.get("/families").get_json()["items"]}
    attention = listed(api, needs_attention="true")

    assert items["Overdue"]["attention"] == ["no_visit_30d"]
    assert items["Fresh"]["attention"] == []
    assert items["Discharged"]["attention"] == []
    assert attention == [str(overdue.id)]
    assert api.get(f"/families/{overdue.id}").get_json()["attention"] == ["no_visit_30d"]


def test_the_30_days_count_from_the_agencys_today(coalition, api):
    a = coalition.a
    family_named(a.visitor, "Twentynine", enrolled_on=days_ago(a.agency, 29))
    thirty = family_named(a.visitor, "Thirty", enrolled_on=days_ago(a.agency, 30))

    assert listed(api, needs_attention="true") == [str(thirty.id)]


def test_filters_combine(coalition, api, searchable):
    a = coalition.a
    old = FamilyFactory(
        home_visitor=a.visitor, caregiver__last_name="Núñez", enrolled_on=days_ago(a.agency, 60)
    )

    assert listed(api, q="nunez", needs_attention="true") == [str(old.id)]
    assert listed(api, q="nunez", home_visitor_id=str(a.other_visitor.id)) == []


# --- Pages ---------------------------------------------------------------------------------


def test_pages_answer_the_envelope(coalition, api):
    families = [family_named(coalition.a.visitor, f"Family{n:02}") for n in range(7)]

    first = api.get("/families", query_string={"per_page": 3}).get_json()
    third = api.get("/families", query_string={"per_page": 3, "page": 3}).get_json()
    beyond = api.get("/families", query_string={"per_page": 3, "page": 4}).get_json()

    assert (first["page"], first["per_page"], first["total"]) == (1, 3, 7)
    assert [f["id"] for f in first["items"]] == [str(f.id) for f in families[:3]]
    assert [f["id"] for f in third["items"]] == [str(families[6].id)]
    assert beyond["items"] == [] and beyond["total"] == 7
    assert set(api.get("/families").get_json()) == {"items", "page", "per_page", "total"}
    assert api.get("/families").get_json()["per_page"] == 50


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"per_page": 0}, "per_page"),
        ({"per_page": 201}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"home_visitor_id": "someone"}, "home_visitor_id"),
        ({"needs_attention": "perhaps"}, "needs_attention"),
        ({"q": ""}, "q"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_a_query_parameter_out_of_range_is_a_422_never_clamped(api, query, field):
    assert_problem(api.get("/families", query_string=query), 422, field)


def test_a_page_of_50_takes_as_many_queries_as_a_page_of_5(coalition, api):
    for n in range(50):
        family = family_named(coalition.a.visitor, f"Family{n:02}", children=2)
        CaregiverFactory(family=family, primary=False)
    api.get("/me")  # the token's first use is recorded once; not part of what is measured

    with counting_queries() as small:
        page = api.get("/families", query_string={"per_page": 5})
    assert len(page.get_json()["items"]) == 5

    with counting_queries() as large:
        page = api.get("/families", query_string={"per_page": 50})
    items = page.get_json()["items"]
    assert len(items) == 50
    assert all(len(f["caregivers"]) == 2 and len(f["children"]) == 2 for f in items)

    assert len(large) == len(small), "\n\n".join(large)
    assert len(small) < 20


def test_a_family_matched_by_a_caregiver_and_a_child_is_listed_once(coalition, api):
    a = coalition.a
    family = family_named(a.visitor, "Ortiz")
    ChildFactory(family=family, last_name="Ortiz")

    assert listed(api, q="ortiz") == [str(family.id)]
