"""/agencies, as each role meets it: an agency's own staff see it, a fiscal host sees its
coalition, admins see and shape everything; an agency's admin keeps its name and settings but
not its place in a coalition."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from hvcase.extensions import db
from hvcase.organisations.models import Agency
from tests.api import assert_problem

ROLES = ("home_visitor", "supervisor", "agency_admin", "fiscal_host", "admin")
NON_ADMIN_ROLES = ROLES[:-1]
AGENCY_FIELDS = {
    "id",
    "name",
    "kind",
    "lead_agency_id",
    "model",
    "timezone",
    "expected_visits_per_month",
    "settings",
    "version",
    "created_at",
}


def user_of(coalition, role: str):
    return {
        "home_visitor": coalition.a.visitor,
        "supervisor": coalition.a.supervisor,
        "agency_admin": coalition.a.admin,
        "fiscal_host": coalition.fiscal_host,
        "admin": coalition.admin,
    }[role]


def names(response) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["name"] for item in response.get_json()["items"]]


def new_agency(**fields) -> dict:
    return {
        "name": "Prairie Families",
        "kind": "lead",
        "model": "HFA",
        "timezone": "America/Denver",
        "expected_visits_per_month": 2.5,
        **fields,
    }


def fresh(agency: Agency) -> Agency:
    db.session.expire_all()
    return db.session.get(Agency, agency.id)


def agency_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Agency))


# --- Who sees which agency -----------------------------------------------------------------


@pytest.mark.parametrize(
    "role, expected",
    [
        ("home_visitor", ["Member A"]),
        ("supervisor", ["Member A"]),
        ("agency_admin", ["Member A"]),
        ("fiscal_host", ["Lead", "Member A", "Member B"]),
        ("admin", ["Lead", "Member A", "Member B", "Other Lead", "Other Member"]),
    ],
)
def test_each_role_lists_the_agencies_in_its_scope_by_name(coalition, api_as, role, expected):
    response = api_as(user_of(coalition, role)).get("/agencies")

    assert names(response) == expected
    body = response.get_json()
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, len(expected))
    for item in body["items"]:
        assert set(item) == AGENCY_FIELDS


def test_a_lead_agency_admin_sees_only_its_own_agency(coalition, api_as):
    assert names(api_as(coalition.lead_admin).get("/agencies")) == ["Lead"]


def test_agencies_filter_by_kind_and_page(coalition, api_as):
    admin = api_as(coalition.admin)

    assert names(admin.get("/agencies?kind=lead")) == ["Lead", "Other Lead"]
    assert names(api_as(coalition.fiscal_host).get("/agencies?kind=member")) == [
        "Member A",
        "Member B",
    ]
    second = admin.get("/agencies?per_page=2&page=2").get_json()
    assert [i["name"] for i in second["items"]] == ["Member B", "Other Lead"]
    assert second["total"] == 5
    assert_problem(admin.get("/agencies?kind=franchise"), 422, "kind")
    assert_problem(admin.get("/agencies?per_page=0"), 422, "per_page")
    assert_problem(admin.get("/agencies?per_page=201"), 422, "per_page")


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_an_agency_out_of_scope_is_a_404(coalition, api_as, role):
    api = api_as(user_of(coalition, role))
    outside = [coalition.other.agency, coalition.other_lead]
    if role != "fiscal_host":
        outside += [coalition.b.agency, coalition.lead]

    for agency in outside:
        body = assert_problem(api.get(f"/agencies/{agency.id}"), 404)
        assert body == assert_problem(api.get(f"/agencies/{uuid.uuid4()}"), 404)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_its_own_agency(coalition, api_as, role):
    own = coalition.lead if role == "fiscal_host" else coalition.a.agency
    if role == "admin":
        own = coalition.other.agency

    response = api_as(user_of(coalition, role)).get(f"/agencies/{own.id}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == str(own.id)
    assert set(body) == AGENCY_FIELDS
    assert response.headers["ETag"] == f'"{body["version"]}"'


def test_a_fiscal_host_reads_the_member_agencies_of_its_coalition(coalition, api_as):
    host = api_as(coalition.fiscal_host)
    for member in (coalition.a.agency, coalition.b.agency):
        body = host.get(f"/agencies/{member.id}").get_json()
        assert body["lead_agency_id"] == str(coalition.lead.id)


def test_a_malformed_agency_id_is_a_404(coalition, api_as):
    admin = api_as(coalition.admin)
    assert_problem(admin.get("/agencies/not-a-uuid"), 404)
    assert_problem(admin.patch("/agencies/42", json={"name": "x"}), 404)


# --- Creating agencies -----------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_only_an_admin_creates_agencies(coalition, api_as, role):
    before = agency_count()
    api = api_as(user_of(coalition, role))

    assert_problem(api.post("/agencies", json=new_agency()), 403)
    assert_problem(api.post("/agencies", json={}), 403)
    assert agency_count() == before


def test_an_admin_creates_a_coalition(coalition, api_as):
    admin = api_as(coalition.admin)

    lead = admin.post("/agencies", json=new_agency(settings={"full_term_weeks": 39}))
    assert lead.status_code == 201
    lead_body = lead.get_json()
    assert set(lead_body) == AGENCY_FIELDS
    assert lead_body["kind"] == "lead"
    assert lead_body["lead_agency_id"] is None
    assert lead_body["settings"] == {"full_term_weeks": 39}
    assert lead_body["version"] == 1
    assert lead.headers["ETag"] == '"1"'

    member = admin.post(
        "/agencies",
        json=new_agency(name="Prairie North", kind="member", lead_agency_id=lead_body["id"]),
    )
    assert member.status_code == 201
    assert member.get_json()["lead_agency_id"] == lead_body["id"]
    assert member.get_json()["settings"] == {}
    assert admin.get(f"/agencies/{lead_body['id']}").get_json() == lead_body


def test_a_member_agency_names_its_lead_agency(coalition, api_as):
    admin = api_as(coalition.admin)
    before = agency_count()

    assert_problem(admin.post("/agencies", json=new_agency(kind="member")), 422, "lead_agency_id")
    assert_problem(
        admin.post("/agencies", json=new_agency(kind="member", lead_agency_id=None)),
        422,
        "lead_agency_id",
    )
    assert_problem(
        admin.post(
            "/agencies", json=new_agency(kind="member", lead_agency_id=str(coalition.a.agency.id))
        ),
        422,
        "lead_agency_id",
    )
    assert_problem(
        admin.post("/agencies", json=new_agency(kind="member", lead_agency_id=str(uuid.uuid4()))),
        422,
        "lead_agency_id",
    )
    assert_problem(
        admin.post("/agencies", json=new_agency(lead_agency_id=str(coalition.lead.id))),
        422,
        "lead_agency_id",
    )
    assert agency_count() == before


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "america/chicago"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"model": "Montessori"}, "model"),
        ({"kind": "partner"}, "kind"),
        ({"name": ""}, "name"),
        ({"expected_visits_per_month": -1}, "expected_visits_per_month"),
        ({"expected_visits_per_month": "two"}, "expected_visits_per_month"),
        ({"settings": {"full_term_weeks": 41}}, "settings.full_term_weeks"),
        ({"settings": {"epds_positive_at": 12}}, "settings.epds_positive_at"),
        ({"settings": {"quiet_hours": {"start": "25:00", "end": "08:00"}}}, "settings.quiet_hours"),
        ({"settings": {"bedtime": "20:00"}}, "settings.bedtime"),
        ({"settings": "none"}, "settings"),
        ({"colour": "teal"}, "colour"),
    ],
)
def test_an_agencys_fields_are_checked(coalition, api_as, fields, field):
    before = agency_count()

    response = api_as(coalition.admin).post("/agencies", json=new_agency(**fields))

    body = assert_problem(response, 422)
    assert any(key == field or key.startswith(field + ".") for key in body["errors"]), body
    assert agency_count() == before


def test_a_missing_agency_body_is_a_400_and_an_empty_object_a_422_naming_the_required_fields(
    coalition, api_as
):
    admin = api_as(coalition.admin)
    required = ("name", "kind", "model", "timezone", "expected_visits_per_month")

    assert_problem(admin.post("/agencies"), 400)  # API.md: an empty body is a 400
    assert_problem(admin.post("/agencies", json={}), 422, *required)


# --- Changing agencies ----------------------------------------------------------------------


def test_an_agency_admin_renames_their_agency_and_merges_its_settings(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/agencies/{coalition.a.agency.id}"

    first = admin.patch(path, json={"name": "Member A North", "settings": {"epds_positive_at": 10}})
    second = admin.patch(path, json={"settings": {"full_term_weeks": 39}})

    assert first.status_code == 200
    assert second.status_code == 200
    body = second.get_json()
    assert body["name"] == "Member A North"
    assert body["settings"] == {"epds_positive_at": 10, "full_term_weeks": 39}
    assert body["version"] == 3
    assert second.headers["ETag"] == '"3"'
    assert fresh(coalition.a.agency).settings == {"epds_positive_at": 10, "full_term_weeks": 39}


def test_an_agency_admin_sets_the_timezone_and_expected_visits(coalition, api_as):
    response = api_as(coalition.a.admin).patch(
        f"/agencies/{coalition.a.agency.id}",
        json={"timezone": "America/Indiana/Indianapolis", "expected_visits_per_month": 4},
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "America/Indiana/Indianapolis"
    assert body["expected_visits_per_month"] == 4


def test_a_setting_out_of_range_is_a_422_naming_it_and_changes_nothing(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/agencies/{coalition.a.agency.id}"
    admin.patch(path, json={"settings": {"epds_positive_at": 10}})

    response = admin.patch(
        path, json={"name": "Renamed", "settings": {"full_term_weeks": 41, "epds_positive_at": 13}}
    )

    assert_problem(response, 422, "settings.full_term_weeks")
    current = admin.get(path).get_json()
    assert current["name"] == "Member A"
    assert current["settings"] == {"epds_positive_at": 10}
    assert current["version"] == 2


@pytest.mark.parametrize(
    "settings, field",
    [
        ({"asq_intervals": [2, 5]}, "settings.asq_intervals"),
        ({"visit_reminder_hours": 0}, "settings.visit_reminder_hours"),
        ({"referral_follow_up_days": {"housing": 0}}, "settings.referral_follow_up_days"),
        ({"referral_follow_up_days": {"astrology": 7}}, "settings.referral_follow_up_days"),
        ({"quiet_hours": {"start": "20:00"}}, "settings.quiet_hours.end"),
    ],
)
def test_every_setting_is_validated(coalition, api_as, settings, field):
    response = api_as(coalition.a.admin).patch(
        f"/agencies/{coalition.a.agency.id}", json={"settings": settings}
    )

    body = assert_problem(response, 422)
    assert any(key == field or key.startswith(field + ".") for key in body["errors"]), body
    assert fresh(coalition.a.agency).settings == {}


def test_the_timezone_must_be_an_iana_name(coalition, api_as):
    response = api_as(coalition.a.admin).patch(
        f"/agencies/{coalition.a.agency.id}", json={"timezone": "Central Time"}
    )

    assert_problem(response, 422, "timezone")
    assert fresh(coalition.a.agency).timezone == "America/Chicago"


@pytest.mark.parametrize(
    "change",
    [{"kind": "lead", "lead_agency_id": None}, {"lead_agency_id": "other_lead"}, {"kind": "lead"}],
    ids=["become a lead", "change coalition", "kind only"],
)
def test_an_agency_admin_may_not_move_their_agency_in_the_coalitions(coalition, api_as, change):
    change = {
        k: str(coalition.other_lead.id) if v == "other_lead" else v for k, v in change.items()
    }

    response = api_as(coalition.a.admin).patch(f"/agencies/{coalition.a.agency.id}", json=change)

    assert_problem(response, 403)
    agency = fresh(coalition.a.agency)
    assert (agency.kind, agency.lead_agency_id) == ("member", coalition.lead.id)


def test_a_lead_agency_admin_may_not_make_it_a_member(coalition, api_as):
    response = api_as(coalition.lead_admin).patch(
        f"/agencies/{coalition.lead.id}",
        json={"kind": "member", "lead_agency_id": str(coalition.other_lead.id)},
    )
    assert_problem(response, 403)
    assert fresh(coalition.lead).kind == "lead"


def test_an_agency_admin_may_send_back_the_record_unchanged_but_renamed(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/agencies/{coalition.a.agency.id}"
    record = admin.get(path).get_json()

    response = admin.patch(path, json={**record, "name": "Member A (renamed)", "version": 12})

    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "Member A (renamed)"
    assert body["version"] == 2
    assert body["created_at"] == record["created_at"]


@pytest.mark.parametrize("role", ["home_visitor", "supervisor", "fiscal_host"])
def test_roles_that_do_not_run_an_agency_may_not_change_one(coalition, api_as, role):
    api = api_as(user_of(coalition, role))

    for agency in (coalition.a.agency, coalition.lead, coalition.other.agency):
        assert_problem(api.patch(f"/agencies/{agency.id}", json={"name": "Mine now"}), 403)
        assert fresh(agency).name != "Mine now"


def test_an_agency_admin_may_not_change_another_agency(coalition, api_as):
    admin = api_as(coalition.a.admin)

    for agency in (coalition.b.agency, coalition.lead, coalition.other.agency):
        assert_problem(admin.patch(f"/agencies/{agency.id}", json={"name": "Mine now"}), 404)
        assert fresh(agency).name != "Mine now"


def test_a_lead_agency_admin_changes_the_lead_agency_but_not_its_members(coalition, api_as):
    lead_admin = api_as(coalition.lead_admin)

    response = lead_admin.patch(f"/agencies/{coalition.lead.id}", json={"name": "Lead Coalition"})
    assert response.status_code == 200
    assert response.get_json()["name"] == "Lead Coalition"
    assert_problem(
        lead_admin.patch(f"/agencies/{coalition.a.agency.id}", json={"name": "Mine now"}), 404
    )


def test_an_admin_moves_a_member_to_another_coalition(coalition, api_as):
    response = api_as(coalition.admin).patch(
        f"/agencies/{coalition.a.agency.id}", json={"lead_agency_id": str(coalition.other_lead.id)}
    )

    assert response.status_code == 200
    assert response.get_json()["lead_agency_id"] == str(coalition.other_lead.id)
    # The first coalition's fiscal host no longer sees it.
    assert_problem(api_as(coalition.fiscal_host).get(f"/agencies/{coalition.a.agency.id}"), 404)


def test_an_admin_makes_a_member_a_lead_of_its_own(coalition, api_as):
    response = api_as(coalition.admin).patch(
        f"/agencies/{coalition.b.agency.id}", json={"kind": "lead", "lead_agency_id": None}
    )

    assert response.status_code == 200
    assert (response.get_json()["kind"], response.get_json()["lead_agency_id"]) == ("lead", None)


def test_the_coalition_rules_hold_for_an_admin_too(coalition, api_as):
    admin = api_as(coalition.admin)

    # A lead agency with members cannot become a member.
    assert_problem(
        admin.patch(
            f"/agencies/{coalition.lead.id}",
            json={"kind": "member", "lead_agency_id": str(coalition.other_lead.id)},
        ),
        409,
    )
    # A member agency's lead must be a lead agency, and a lead has none.
    assert_problem(
        admin.patch(
            f"/agencies/{coalition.a.agency.id}",
            json={"lead_agency_id": str(coalition.b.agency.id)},
        ),
        422,
        "lead_agency_id",
    )
    assert_problem(
        admin.patch(f"/agencies/{coalition.a.agency.id}", json={"lead_agency_id": None}),
        422,
        "lead_agency_id",
    )
    assert_problem(
        admin.patch(
            f"/agencies/{coalition.other_lead.id}", json={"lead_agency_id": str(coalition.lead.id)}
        ),
        422,
        "lead_agency_id",
    )
    assert fresh(coalition.lead).kind == "lead"
    assert fresh(coalition.a.agency).lead_agency_id == coalition.lead.id


def test_a_stale_if_match_is_a_412_and_changes_nothing(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/agencies/{coalition.a.agency.id}"
    etag = admin.get(path).headers["ETag"]
    assert admin.patch(path, json={"name": "First"}, headers={"If-Match": etag}).status_code == 200

    response = admin.patch(path, json={"name": "Second"}, headers={"If-Match": etag})

    assert_problem(response, 412)
    assert admin.get(path).get_json()["name"] == "First"
    assert admin.get(path).headers["ETag"] == '"2"'


# --- problem+json for whatever arrives --------------------------------------------------------


def test_malformed_json_is_a_400(coalition, api_as):
    admin = api_as(coalition.admin)

    for response in (
        admin.post("/agencies", data="{'name': 'single quotes'}", content_type="application/json"),
        admin.patch(
            f"/agencies/{coalition.a.agency.id}", data='{"name": ', content_type="application/json"
        ),
    ):
        assert_problem(response, 400)


def test_a_body_that_is_not_json_is_a_415(coalition, api_as):
    admin = api_as(coalition.admin)

    assert_problem(
        admin.post("/agencies", data="<agency/>", content_type="application/xml"),
        415,
    )
    assert_problem(
        admin.patch(f"/agencies/{coalition.a.agency.id}", data={"name": "Form post"}),
        415,
    )
    assert fresh(coalition.a.agency).name == "Member A"


def test_wrong_types_are_a_422_naming_each_field(coalition, api_as):
    body = assert_problem(
        api_as(coalition.admin).post(
            "/agencies",
            json=new_agency(name=["list"], expected_visits_per_month=True, settings=[1]),
        ),
        422,
        "name",
        "settings",
    )
    assert "timezone" not in body["errors"]


def test_a_body_over_two_mebibytes_is_a_413(coalition, api_as):
    big = '{"name": "' + "x" * (2 * 1024 * 1024 + 1) + '"}'

    response = api_as(coalition.a.admin).patch(
        f"/agencies/{coalition.a.agency.id}", data=big, content_type="application/json"
    )

    assert_problem(response, 413)
    assert fresh(coalition.a.agency).name == "Member A"


def test_unknown_paths_and_methods_are_problems_too(coalition, api_as):
    admin = api_as(coalition.admin)

    assert_problem(admin.get("/agency"), 404)
    assert_problem(admin.get(f"/agencies/{coalition.a.agency.id}/staff"), 404)
    response = admin.delete(f"/agencies/{coalition.a.agency.id}")
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
    assert "DELETE" not in allowed
    assert fresh(coalition.a.agency) is not None
    put = admin.put("/agencies", json=new_agency())
    assert_problem(put, 405)
    assert {"GET", "POST"} <= {m.strip() for m in put.headers["Allow"].split(",")}


def test_a_nul_character_anywhere_in_the_body_is_a_422_naming_the_field(coalition, api_as):
    admin = api_as(coalition.admin)
    before = agency_count()

    created = admin.post("/agencies", json=new_agency(name="Prairie\x00"))
    changed = admin.patch(
        f"/agencies/{coalition.a.agency.id}",
        json={"settings": {"referral_follow_up_days": {"housing\x00": 7}}},
    )

    assert_problem(created, 422, "name")
    assert_problem(changed, 422, "settings.referral_follow_up_days.housing\x00")
    assert agency_count() == before
    assert fresh(coalition.a.agency).settings == {}


def test_expected_visits_are_kept_to_hundredths_and_a_repeat_changes_nothing(coalition, api_as):
    admin = api_as(coalition.a.admin)
    path = f"/agencies/{coalition.a.agency.id}"

    answers = [admin.patch(path, json={"expected_visits_per_month": 2.555}) for _ in range(3)]

    assert [a.get_json()["expected_visits_per_month"] for a in answers] == [2.56, 2.56, 2.56]
    assert [a.get_json()["version"] for a in answers] == [2, 2, 2]
    assert admin.get(path).get_json()["expected_visits_per_month"] == 2.56
    # Bounds are judged on the value as sent, before any rounding.
    assert_problem(
        admin.patch(path, json={"expected_visits_per_month": 31.004}),
        422,
        "expected_visits_per_month",
    )
    assert_problem(
        admin.patch(path, json={"expected_visits_per_month": -0.001}),
        422,
        "expected_visits_per_month",
    )
