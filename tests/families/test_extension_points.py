"""families' extension points: a later domain adds an attention reason or fills a family's
details by registering with families, never by being imported by it.

A test-only domain stands in for one not built yet (screenings, referrals): what it registers
shows in the API exactly as visits' own contributions do.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import ColumnElement

from hvcase.families import attention, details
from hvcase.families.models import Family
from tests.factories import FamilyFactory
from tests.families import days_ago


@pytest.fixture
def registries(monkeypatch):
    """The registries as create_app left them, restored after the test; a name no built domain
    contributes yet is free for the test-only domain."""
    monkeypatch.setattr(attention, "REASONS", dict(attention.REASONS))
    monkeypatch.setattr(details, "PROVIDERS", dict(details.PROVIDERS))
    attention.REASONS.pop("urgent_screening", None)
    details.PROVIDERS.pop("open_referrals", None)


def enrolled_today(today: date, zone: ZoneInfo) -> ColumnElement[bool]:
    """The test-only domain's reason: a family enrolled on the agency's today."""
    return Family.enrolled_on == today


def listed(api, **query) -> set[str]:
    response = api.get("/families", query_string=query)
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def test_a_registered_reason_shows_in_attention_and_in_needs_attention(coalition, api, registries):
    a = coalition.a
    new = FamilyFactory(home_visitor=a.visitor, enrolled_on=days_ago(a.agency, 0))
    overdue = FamilyFactory(home_visitor=a.visitor, enrolled_on=days_ago(a.agency, 40))
    calm = FamilyFactory(home_visitor=a.visitor, enrolled_on=days_ago(a.agency, 5))
    assert listed(api, needs_attention="true") == {str(overdue.id)}

    attention.register_reason("urgent_screening", enrolled_today)

    assert api.get(f"/families/{new.id}").get_json()["attention"] == ["urgent_screening"]
    assert api.get(f"/families/{overdue.id}").get_json()["attention"] == ["no_visit_30d"]
    items = {f["id"]: f["attention"] for f in api.get("/families").get_json()["items"]}
    assert items[str(new.id)] == ["urgent_screening"]
    assert items[str(calm.id)] == []
    assert listed(api, needs_attention="true") == {str(new.id), str(overdue.id)}
    assert listed(api, needs_attention="false") == {str(calm.id)}


def test_reasons_are_listed_in_api_order_whatever_order_they_were_registered(
    coalition, api, registries
):
    a = coalition.a
    both = FamilyFactory(home_visitor=a.visitor, enrolled_on=days_ago(a.agency, 40))
    visits_reason = attention.REASONS.pop("no_visit_30d")
    attention.register_reason("urgent_screening", lambda today, zone: Family.id == both.id)
    attention.register_reason("no_visit_30d", visits_reason)

    body = api.get(f"/families/{both.id}").get_json()

    assert body["attention"] == ["no_visit_30d", "urgent_screening"]


def test_a_reason_is_one_of_api_md_and_has_one_contributor(registries):
    with pytest.raises(ValueError, match="not an attention reason"):
        attention.register_reason("rainy_day", enrolled_today)
    with pytest.raises(ValueError, match="already registered"):
        attention.register_reason("no_visit_30d", enrolled_today)
    assert "rainy_day" not in attention.REASONS
    assert attention.REASONS["no_visit_30d"] is not enrolled_today


def test_a_registered_provider_fills_its_details_of_one_family(coalition, api, registries):
    a = coalition.a
    family = FamilyFactory(home_visitor=a.visitor)
    other = FamilyFactory(home_visitor=a.visitor)
    asked: list[Any] = []

    def open_referrals(of: Family) -> dict[str, Any]:
        asked.append(of.id)
        return {"open_referrals": [{"family_id": str(of.id), "category": "housing"}]}

    details.register_details(["open_referrals"], open_referrals)
    body = api.get(f"/families/{family.id}").get_json()

    assert body["open_referrals"] == [{"family_id": str(family.id), "category": "housing"}]
    assert asked == [family.id]
    # The fields no domain fills keep their empty value, and visits still fills its own.
    assert body["screenings_due"] == []
    assert body["next_visit"] is None and body["last_visit"] is None
    assert api.get(f"/families/{other.id}").get_json()["open_referrals"] == [
        {"family_id": str(other.id), "category": "housing"}
    ]


def test_without_a_provider_a_detail_keeps_its_empty_value(coalition, api, registries):
    family = FamilyFactory(home_visitor=coalition.a.visitor)

    body = api.get(f"/families/{family.id}").get_json()

    assert body["open_referrals"] == []
    assert body["screenings_due"] == []


def test_a_detail_is_one_of_a_familys_and_has_one_provider(registries):
    def provider(of: Family) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="not a detail"):
        details.register_details(["favourite_colour"], provider)
    with pytest.raises(ValueError, match="already has a provider"):
        details.register_details(["open_referrals", "next_visit"], provider)
    # A refused registration registers none of its fields.
    assert "open_referrals" not in details.PROVIDERS
    assert details.PROVIDERS["next_visit"] is not provider


def test_create_app_registers_every_contribution_whatever_is_imported_first():
    """A process that imports families' registries before anything else still has every
    contribution once create_app has run (the contributions are imported there)."""
    script = (
        "from hvcase.families import attention, details\n"
        "print(sorted(attention.REASONS), sorted(details.PROVIDERS))\n"
        "from hvcase import create_app\n"
        "create_app('testing', {'DATABASE_URL': 'sqlite://', 'REDIS_URL': None})\n"
        "print(sorted(attention.REASONS), sorted(details.PROVIDERS))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[] []",
        "['no_visit_30d', 'screening_overdue', 'urgent_screening'] "
        "['last_visit', 'next_visit', 'screenings_due']",
    ]
