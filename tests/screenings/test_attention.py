"""What screenings add to a family: ``screening_overdue`` and ``urgent_screening`` in its
``attention`` (and so in ``needs_attention=true``), the ``screenings_due`` of GET of one
family; and each child's windows kept up to date as the child and the agency's settings
change."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hvcase.common.time import today_in
from hvcase.extensions import db
from hvcase.screenings.ages import add_months
from hvcase.screenings.models import ScreeningWindow
from tests.factories import ChildFactory, FamilyFactory, ScreeningFactory


def today_of(coalition):
    return today_in(coalition.a.agency.timezone)


def attention(api, family) -> list[str]:
    response = api.get(f"/families/{family.id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["attention"]


def windows_of(child) -> dict[tuple[str, int], ScreeningWindow]:
    rows = db.session.scalars(select(ScreeningWindow).where(ScreeningWindow.child_id == child.id))
    return {(row.instrument, row.interval): row for row in rows}


def asq3(child, on, interval) -> dict:
    domains = ("communication", "gross_motor", "fine_motor", "problem_solving", "personal_social")
    return {
        "instrument": "asq3",
        "child_id": str(child.id),
        "administered_on": on.isoformat(),
        "interval": interval,
        "responses": {domain: ["yes"] * 6 for domain in domains},
    }


def asqse2(child, on, interval) -> dict:
    return {
        "instrument": "asqse2",
        "child_id": str(child.id),
        "administered_on": on.isoformat(),
        "interval": interval,
        "domain_scores": {"total": 10},
    }


def test_a_newborn_has_its_windows_and_nothing_overdue(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    child = ChildFactory(family=family, birth_date=today - timedelta(days=10))
    db.session.flush()

    windows = windows_of(child)

    # The defaults: every interval from 2 to 36 months of both instruments.
    assert sorted(n for code, n in windows if code == "asq3") == [
        2, 4, 6, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 27, 30, 33, 36
    ]  # fmt: skip
    assert sorted(n for code, n in windows if code == "asqse2") == [2, 6, 12, 18, 24, 30, 36]
    two = windows[("asq3", 2)]
    # 1m0d to 2m30d from the birth date; due up to the day the child is 2 months old.
    assert two.window_start == add_months(child.birth_date, 1)
    assert two.due_on == add_months(child.birth_date, 2)
    assert "screening_overdue" not in attention(api, family)


def test_missed_intervals_ask_for_attention_until_each_is_recorded(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    birth = add_months(today, -3)  # 3m0d today: the 2-month windows (to 2m30d) have closed
    child = ChildFactory(family=family, birth_date=birth)
    db.session.flush()
    assert "screening_overdue" in attention(api, family)
    listed = api.get("/families", query_string={"needs_attention": "true"}).get_json()["items"]
    assert str(family.id) in {item["id"] for item in listed}

    given_on = add_months(birth, 2) + timedelta(days=5)  # 2m5d: inside both 2-month windows
    for body in (asq3(child, given_on, 2), asqse2(child, given_on, 2)):
        response = api.post("/screenings", json=body)
        assert response.status_code == 201, response.get_json()

    assert "screening_overdue" not in attention(api, family)
    # Open today, due (not yet overdue), soonest closing first: the 4-month ASQ-3 (3m0d to
    # 4m30d) and the 6-month ASQ:SE-2 (3m0d to 8m30d).
    due = api.get(f"/families/{family.id}").get_json()["screenings_due"]
    assert [(item["instrument"], item["interval"], item["status"]) for item in due] == [
        ("asq3", 4, "due"),
        ("asqse2", 6, "due"),
    ]
    assert due[0]["child_id"] == str(child.id)


def test_windows_follow_the_child_s_birth_date_and_gestation(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    child = ChildFactory(family=family, birth_date=today - timedelta(days=10))
    db.session.flush()
    before = windows_of(child)[("asq3", 2)].due_on

    response = api.patch(f"/children/{child.id}", json={"gestational_age_weeks": 32})

    assert response.status_code == 200, response.get_json()
    # 8 weeks early: the window's clock starts at the due date, 56 days after the birth.
    assert windows_of(child)[("asq3", 2)].due_on == add_months(
        child.birth_date + timedelta(days=56), 2
    )
    assert windows_of(child)[("asq3", 2)].due_on != before


def test_an_agency_that_requires_fewer_intervals_keeps_fewer_windows(coalition, api_as):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    child = ChildFactory(family=family, birth_date=add_months(today, -3))
    db.session.flush()
    admin = api_as(coalition.a.admin)
    assert "screening_overdue" in attention(admin, family)

    response = admin.patch(
        f"/agencies/{coalition.a.agency.id}",
        json={"settings": {"asq_intervals": [12, 24], "asqse_intervals": [12]}},
    )

    assert response.status_code == 200, response.get_json()
    assert sorted(windows_of(child)) == [("asq3", 12), ("asq3", 24), ("asqse2", 12)]
    assert "screening_overdue" not in attention(admin, family)


def test_an_urgent_screening_asks_for_attention_for_fourteen_days(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    carer = family.caregivers[0]
    recent = ScreeningFactory(
        caregiver=carer, urgent=True, administered_on=today - timedelta(days=13)
    )
    db.session.flush()
    assert "urgent_screening" in attention(api, family)

    recent.administered_on = today - timedelta(days=14)  # the 15th day: no longer
    db.session.flush()
    assert "urgent_screening" not in attention(api, family)

    ScreeningFactory(caregiver=carer, urgent=True, administered_on=today, voided_at=None)
    db.session.flush()
    assert "urgent_screening" in attention(api, family)


def test_the_refresh_command_writes_every_child_s_windows(coalition, app):
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    child = ChildFactory(family=family, birth_date=today_of(coalition) - timedelta(days=40))
    db.session.flush()
    db.session.execute(ScreeningWindow.__table__.delete())
    assert windows_of(child) == {}

    result = app.test_cli_runner().invoke(args=["refresh-screening-windows"])

    assert result.exit_code == 0, result.output
    assert len(windows_of(child)) == 24
    assert "screening windows written" in result.output


def test_windows_that_closed_before_the_family_enrolled_ask_for_nothing(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor, enrolled_on=today)
    ChildFactory(family=family, birth_date=add_months(today, -3))  # the 2-month windows closed
    db.session.flush()

    assert "screening_overdue" not in attention(api, family)
    family.enrolled_on = add_months(today, -1) - timedelta(days=5)  # while they were open
    db.session.flush()
    assert "screening_overdue" in attention(api, family)


def test_a_window_is_done_with_its_screening_and_open_again_when_that_is_voided(coalition, api):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    birth = add_months(today, -3)
    child = ChildFactory(family=family, birth_date=birth)
    db.session.flush()
    given_on = add_months(birth, 2) + timedelta(days=5)

    made = api.post("/screenings", json=asq3(child, given_on, 2)).get_json()

    assert str(windows_of(child)[("asq3", 2)].screening_id) == made["id"]
    assert windows_of(child)[("asqse2", 2)].screening_id is None
    assert api.delete(f"/screenings/{made['id']}").status_code == 200
    db.session.expire_all()
    assert windows_of(child)[("asq3", 2)].screening_id is None


def test_a_voided_child_keeps_no_windows_and_asks_for_nothing(coalition, api_as):
    today = today_of(coalition)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    child = ChildFactory(family=family, birth_date=add_months(today, -3))
    db.session.flush()
    supervisor = api_as(coalition.a.supervisor)
    assert "screening_overdue" in attention(supervisor, family)

    assert supervisor.delete(f"/children/{child.id}").status_code == 200

    assert windows_of(child) == {}
    assert "screening_overdue" not in attention(supervisor, family)
