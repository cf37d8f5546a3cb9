"""/sync as a tablet speaks it: batches of changes pushed, changes pulled page by page.

Shared helpers: change builders, the request, a pull walked to its end, and what is stored."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select

from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.visits.models import Visit
from tests.factories import agency_today
from tests.visits import hours_ago, stamp

MODELS = {"family": Family, "caregiver": Caregiver, "child": Child, "visit": Visit}


def upsert(entity: str, record_id: Any, data: dict, base_version: int | None = None) -> dict:
    change = {"entity": entity, "op": "upsert", "id": str(record_id), "data": data}
    if base_version is not None:
        change["base_version"] = base_version
    return change


def void(entity: str, record_id: Any, reason: str | None = None, base_version: int | None = None):
    data = {} if reason is None else {"void_reason": reason}
    change = {"entity": entity, "op": "void", "id": str(record_id), "data": data}
    if base_version is not None:
        change["base_version"] = base_version
    return change


def sync(api, changes=(), cursor: str | None = None, limit: int | None = None, device="tab-1"):
    """One POST /sync; the response, asserted 200."""
    body: dict[str, Any] = {"device_id": device, "changes": list(changes)}
    if cursor is not None:
        body["cursor"] = cursor
    if limit is not None:
        body["limit"] = limit
    response = api.post("/sync", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def pull_all(
    api, cursor: str | None = None, limit: int = 1000, device: str = "tab-1"
) -> tuple[list[dict], str, int]:
    """Pull until ``more`` is false: (every change in order, the last cursor, requests made)."""
    changes: list[dict] = []
    requests = 0
    while True:
        answer = sync(api, cursor=cursor, limit=limit, device=device)
        requests += 1
        changes += answer["changes"]
        cursor = answer["cursor"]
        if not answer["more"]:
            return changes, cursor, requests


def keys(changes: list[dict]) -> list[tuple[str, str]]:
    return [(c["entity"], c["id"]) for c in changes]


def records_of(family: Any, visits: list[Any] = ()) -> set[tuple[str, str]]:
    """The (entity, id) of a family, its caregivers, children and the given visits."""
    db.session.refresh(family)
    return {
        ("family", str(family.id)),
        *(("caregiver", str(c.id)) for c in family.caregivers),
        *(("child", str(c.id)) for c in family.children),
        *(("visit", str(v.id)) for v in visits),
    }


def household(agency: Any, name: str = "Lopez", **fields: Any) -> dict[str, Any]:
    """A new family as a tablet upserts it, PUT-shaped: every member with its own id."""
    today = agency_today(agency)
    return {
        "id": str(uuid.uuid4()),
        "enrolled_on": str(today),
        "preferred_language": "es",
        "phone": "+16125550188",
        "consent": {"sms_reminders": True, "email_reminders": False},
        "risk_factors": ["low_income"],
        "household_size": 3,
        "caregivers": [
            {
                "id": str(uuid.uuid4()),
                "first_name": "Ana",
                "last_name": name,
                "birth_date": "1999-01-15",
                "relationship": "mother",
                "primary": True,
            },
            {
                "id": str(uuid.uuid4()),
                "first_name": "Luis",
                "last_name": name,
                "birth_date": "1997-07-04",
                "relationship": "father",
                "primary": False,
            },
        ],
        "children": [
            {
                "id": str(uuid.uuid4()),
                "first_name": "Sofía",
                "last_name": name,
                "birth_date": "2025-10-01",
                "sex": "F",
            }
        ],
        **fields,
    }


def visit_of(family_id: Any, **fields: Any) -> dict[str, Any]:
    """A completed visit's data for a family known by id (it may exist only on the tablet)."""
    return {
        "family_id": str(family_id),
        "status": "completed",
        "started_at": stamp(hours_ago(26)),
        "duration_minutes": 60,
        **fields,
    }


def count(entity: str) -> int:
    model = MODELS[entity]
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict[str, int]:
    return {entity: count(entity) for entity in MODELS}


def fresh(entity: str, record_id: Any) -> Any:
    db.session.expire_all()
    return db.session.get(MODELS[entity], uuid.UUID(str(record_id)))


def hold(held: dict[tuple[str, str], dict], change: dict[str, Any]) -> None:
    """Apply one pulled change to a tablet's records, keyed (entity, id), as a tablet does:
    data replaces, ``voided`` and ``removed`` drop. A family's nested copies of its caregivers
    and children are left out: each member is held, and compared, as its own record (a
    member's own edit is sent on its own, not with its family)."""
    key = (change["entity"], change["id"])
    if change.get("voided") or change.get("removed"):
        held.pop(key, None)
        return
    data = dict(change["data"])
    data.pop("caregivers", None)
    data.pop("children", None)
    held[key] = {"version": change["version"], "data": data}
