"""The rules behind the family endpoints, one at a time: folding names, finding a duplicate
household, checking a household, and the agency's "today"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hvcase.common.errors import ValidationFailed
from hvcase.common.text import fold, name_key
from hvcase.common.time import utcnow
from hvcase.families import services
from hvcase.families.models import Caregiver, Child, Family
from tests.factories import AgencyFactory, CaregiverFactory, FamilyFactory, UserFactory

# --- Folding names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Zoë  Núñez", "zoe nunez"),
        ("ZOE NUNEZ", "zoe nunez"),
        ("  José\tGarcía ", "jose garcia"),
        ("Nguyễn", "nguyen"),
        ("François", "francois"),
        ("Ångström", "angstrom"),
        ("Müller-Lüdenscheidt", "muller-ludenscheidt"),
        ("Strauß", "strauss"),  # case-folded, not only lower-cased
        ("İlkay", "ilkay"),  # the dot above is an accent too
        ("ﬁona", "fiona"),  # compatibility ligature
        ("Ｚｏｅ", "zoe"),  # full-width letters from a phone keyboard
        ("O'Brien", "o'brien"),
        ("Xiong", "xiong"),
        ("", ""),
    ],
)
def test_fold_drops_case_accents_and_extra_spaces(typed, folded):
    assert fold(typed) == folded


@pytest.mark.parametrize(
    ("typed", "folded"), [("Đức", "duc"), ("Søren", "soren"), ("Łucja", "lucja")]
)
def test_fold_drops_strokes_too(typed, folded):
    assert fold(typed) == folded


def test_fold_is_idempotent():
    for text in ("Zoë Núñez", "Strauß", "Nguyễn Thị"):
        assert fold(fold(text)) == fold(text)


def test_a_name_key_is_the_folded_first_and_last_name():
    assert name_key("  Zoë", "NÚÑEZ ") == "zoe nunez"
    assert name_key("Zoe", "Nunez") == name_key("ZOË", "núñez")
    assert name_key("Ana María", "de la Cruz") == "ana maria de la cruz"


def test_first_and_last_name_are_not_interchangeable():
    assert name_key("Lee", "Wong") != name_key("Wong", "Lee")


# --- Finding a duplicate household ---------------------------------------------------------

BIRTH = date(1998, 4, 2)


@pytest.fixture
def zoe(coalition):
    return FamilyFactory(
        home_visitor=coalition.a.visitor,
        caregiver__first_name="Zoë",
        caregiver__last_name="Núñez",
        caregiver__birth_date=BIRTH,
    )


def test_the_same_folded_name_and_birth_date_in_the_agency_is_a_duplicate(coalition, zoe):
    found = services.find_duplicate(coalition.a.agency.id, "ZOE", "nunez", BIRTH)

    assert found is not None and found.id == zoe.id


def test_another_birth_date_or_another_agency_is_no_duplicate(coalition, zoe):
    assert (
        services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH + timedelta(1)) is None
    )
    assert services.find_duplicate(coalition.b.agency.id, "Zoe", "Nunez", BIRTH) is None


def test_without_a_birth_date_nothing_is_matched(coalition, zoe):
    assert services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", None) is None


def test_a_family_may_exclude_itself(coalition, zoe):
    assert (
        services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH, exclude=zoe.id)
        is None
    )


def test_a_voided_family_or_a_voided_primary_caregiver_is_no_duplicate(coalition, zoe):
    mother = zoe.primary_caregiver
    mother.voided_at = utcnow()
    services.db.session.commit()
    assert services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH) is None

    mother.voided_at = None
    zoe.voided_at = utcnow()
    services.db.session.commit()
    assert services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH) is None


def test_a_discharged_family_is_no_duplicate(coalition, zoe):
    zoe.status = "discharged"
    services.db.session.commit()

    assert services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH) is None


def test_a_secondary_caregiver_is_not_matched(coalition):
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    CaregiverFactory(family=family, first_name="Zoë", last_name="Núñez", birth_date=BIRTH)

    assert services.find_duplicate(coalition.a.agency.id, "Zoe", "Nunez", BIRTH) is None


# --- Checking a household ------------------------------------------------------------------

TODAY = date(2026, 6, 15)


def household(*, enrolled_on=TODAY, caregivers=(), children=()) -> Family:
    """A family built in memory, never stored."""
    family = Family(enrolled_on=enrolled_on)
    for fields in caregivers:
        family.caregivers.append(
            Caregiver(
                **{
                    "first_name": "C",
                    "last_name": "G",
                    "relationship_to_child": "mother",
                    "primary": False,
                    **fields,
                }
            )
        )
    for fields in children:
        family.children.append(Child(**{"first_name": "K", "last_name": "G", **fields}))
    return family


def errors_of(family: Family, paths=None) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as refused:
        services.check_household(family, TODAY, paths)
    return refused.value.errors


def test_a_sound_household_passes():
    family = household(
        caregivers=[
            {"primary": True, "birth_date": date(1990, 1, 1)},
            {"birth_date": None},  # a birth date is optional for a caregiver
            {"primary": True, "voided_at": utcnow()},  # a voided primary does not count
        ],
        children=[{"birth_date": TODAY}, {"birth_date": date(1990, 1, 1)}],  # born the same day
    )

    services.check_household(family, TODAY)


@pytest.mark.parametrize("primaries", [0, 2, 3])
def test_exactly_one_caregiver_is_primary(primaries):
    family = household(caregivers=[{"primary": n < primaries} for n in range(3)])

    assert list(errors_of(family)) == ["caregivers"]


def test_the_primary_rule_is_named_by_the_path_it_is_given():
    family = household(caregivers=[{"primary": False}])

    assert list(errors_of(family, {"caregivers": "primary"})) == ["primary"]


def test_no_birth_date_in_the_future_for_anyone():
    family = household(
        caregivers=[{"primary": True, "birth_date": TODAY + timedelta(days=1)}],
        children=[{"birth_date": TODAY + timedelta(days=1)}],
    )
    mother, baby = family.caregivers[0], family.children[0]

    errors = errors_of(family, {mother: "caregivers.0.", baby: "children.0."})

    assert set(errors) == {"caregivers.0.birth_date", "children.0.birth_date"}


def test_no_child_born_before_the_youngest_caregiver():
    family = household(
        caregivers=[
            {"primary": True, "birth_date": date(1960, 1, 1)},  # a grandmother
            {"birth_date": date(2000, 1, 1)},  # the young mother
        ],
        children=[{"birth_date": date(2010, 1, 1)}, {"birth_date": date(1999, 12, 31)}],
    )
    older, younger = family.children

    errors = errors_of(family, {older: "children.0.", younger: "children.1."})

    assert list(errors) == ["children.1.birth_date"]


def test_a_voided_child_is_not_checked():
    family = household(
        caregivers=[{"primary": True, "birth_date": date(2000, 1, 1)}],
        children=[{"birth_date": date(1999, 1, 1), "voided_at": utcnow()}],
    )

    services.check_household(family, TODAY)


def test_enrollment_is_not_in_the_future():
    family = household(enrolled_on=TODAY + timedelta(days=1), caregivers=[{"primary": True}])

    assert list(errors_of(family)) == ["enrolled_on"]


def test_every_broken_rule_is_reported_at_once():
    family = household(
        enrolled_on=TODAY + timedelta(days=1),
        caregivers=[{"primary": False}],
        children=[{"birth_date": TODAY + timedelta(days=2)}],
    )

    assert set(errors_of(family, {family.children[0]: "children.0."})) == {
        "enrolled_on",
        "caregivers",
        "children.0.birth_date",
    }


# --- The agency's today --------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Chicago"])
def test_today_is_the_agencys_day_not_the_servers(zone):
    agency = AgencyFactory(timezone=zone)
    visitor = UserFactory(role="home_visitor", agency=agency)

    assert services.agency_today(visitor) == datetime.now(ZoneInfo(zone)).date()


def test_a_family_of_an_agency_ahead_of_utc_may_enroll_on_its_today(api_as):
    """Kiritimati (UTC+14) is a day ahead of UTC most of the day."""
    agency = AgencyFactory(timezone="Pacific/Kiritimati")
    visitor = UserFactory(role="home_visitor", agency=agency)
    their_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    body = {
        "enrolled_on": str(their_today),
        "caregivers": [
            {"first_name": "Teuea", "last_name": "Toatu", "relationship": "mother", "primary": True}
        ],
    }

    response = api_as(visitor).post("/families", json=body)

    assert response.status_code == 201, response.get_json()
    assert datetime.now(UTC).date() <= their_today


def test_apply_reports_whether_anything_changed(coalition):
    family = FamilyFactory(home_visitor=coalition.a.visitor, household_size=3)
    caregiver = family.primary_caregiver

    assert services.apply(family, {"household_size": 3}) is False
    assert services.apply(family, {"household_size": 4}) is True
    assert services.apply(caregiver, {"relationship": "mother"}) is False
    assert services.apply(caregiver, {"last_name": "Núñez"}) is True
    assert caregiver.name_key.endswith(" nunez")
