"""Tablets in the field: a week offline, a connection that drops at the worst moment, two
tablets on one visit, a bad entry in a good batch, a family handed to a colleague."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from hvcase.extensions import db
from hvcase.families.models import Assignment
from tests.factories import FamilyFactory, VisitFactory, agency_today
from tests.sync import (
    counts,
    fresh,
    household,
    keys,
    pull_all,
    records_of,
    sync,
    upsert,
    visit_of,
)
from tests.visits import hours_ago, stamp

SURNAMES = ["Lopez", "Nguyen", "Hassan", "Vang", "Okafor", "Yazzie", "Kowalski", "Duarte"]


@pytest.fixture
def visitor(coalition):
    return coalition.a.visitor


@pytest.fixture
def tablet(api_as, visitor):
    return api_as(visitor)


def in_batches(changes: list[dict], size: int) -> list[list[dict]]:
    return [changes[i : i + size] for i in range(0, len(changes), size)]


def test_a_week_offline_then_two_hundred_changes(coalition, api_as, tablet, visitor):
    """Monday morning the tablet syncs and goes out of signal for a week. It enrolls eight
    families, books and logs visits, completes what it booked, corrects its own entries and
    adds notes to visits it had pulled. Back in the office it pushes 200 changes in four
    batches, then pulls."""
    known = [FamilyFactory(home_visitor=visitor, children=1) for _ in range(2)]
    known_visits = [VisitFactory(family=f) for f in known for _ in range(5)]
    _pulled, cursor, _requests = pull_all(tablet, device="tablet-a1")
    before = counts()
    enrolled_on = str(agency_today(coalition.a.agency) - timedelta(days=6))

    log: list[dict] = []
    families = [
        household(coalition.a.agency, name=name, enrolled_on=enrolled_on) for name in SURNAMES
    ]
    for index, family in enumerate(families):
        family["caregivers"][0]["birth_date"] = f"199{index}-02-0{index + 1}"
        log.append(upsert("family", family["id"], family))
    family_ids = [f["id"] for f in families] + [str(f.id) for f in known]
    logged = []
    for n in range(120):  # visits logged after the fact, through the week
        visit_id = str(uuid.uuid4())
        data = visit_of(
            family_ids[n % len(family_ids)],
            started_at=stamp(hours_ago(24 * (n % 6) + 2 + n % 5)),
            topics=["parenting", "health"][: 1 + n % 2],
        )
        logged.append((visit_id, data))
        log.append(upsert("visit", visit_id, data))
    booked = []
    for n in range(30):  # booked for later in the week
        visit_id = str(uuid.uuid4())
        data = {
            "family_id": family_ids[n % len(family_ids)],
            "status": "scheduled",
            "scheduled_for": stamp(hours_ago(24 * (n % 5) + 1)),
        }
        booked.append((visit_id, data))
        log.append(upsert("visit", visit_id, data))
    for visit_id, data in booked[:20]:  # ...and most of them made
        completed = {
            **data,
            "status": "completed",
            "started_at": data["scheduled_for"],
            "duration_minutes": 55,
        }
        log.append(upsert("visit", visit_id, completed, base_version=1))
    for visit_id, data in logged[:8]:  # corrections of its own entries
        log.append(upsert("visit", visit_id, {**data, "notes": "Corrected"}, base_version=1))
    for family in families[:4]:
        log.append(upsert("family", family["id"], {**family, "phone": "+16125550177"}, 1))
    for visit in known_visits:  # notes on visits it had pulled before leaving
        data = visit_of(visit.family_id, started_at=stamp(visit.started_at), notes="Follow-up")
        log.append(upsert("visit", visit.id, data, base_version=1))
    assert len(log) == 200

    results = []
    for batch in in_batches(log, 50):
        answer = sync(tablet, batch, cursor=cursor, device="tablet-a1")
        results += answer["results"]

    assert Counter(r["status"] for r in results) == {"applied": 200}
    assert counts() == {
        "family": before["family"] + 8,
        "caregiver": before["caregiver"] + 16,
        "child": before["child"] + 8,
        "visit": before["visit"] + 150,
    }
    for visit_id, _data in booked[:20]:
        stored = fresh("visit", visit_id)
        assert (stored.status, stored.duration_minutes, stored.version) == ("completed", 55, 2)
    assert fresh("family", families[0]["id"]).phone == "+16125550177"

    # The pull brings back, once each, the records as the server now holds them.
    pulled, cursor, _requests = pull_all(tablet, cursor, limit=100, device="tablet-a1")
    stream = Counter(keys(pulled))
    assert max(stream.values()) == 1
    pushed = {(c["entity"], c["id"]) for c in log}
    assert pushed <= set(stream)
    versions = {(c["entity"], c["id"]): c["version"] for c in pulled}
    for result, change in zip(results, log, strict=True):
        assert versions[(change["entity"], change["id"])] >= result["version"]
    assert pull_all(tablet, cursor, device="tablet-a1")[0] == []


def test_a_connection_dropped_after_the_server_committed_then_the_whole_batch_again(
    coalition, tablet, visitor
):
    """The tablet pushes a day's work; the server applies it and answers, but the answer
    never arrives (the van drove out of signal). The tablet sends the same batch again."""
    family = FamilyFactory(home_visitor=visitor, children=1)
    visit = VisitFactory(family=family)
    _pulled, cursor, _requests = pull_all(tablet)
    new = household(coalition.a.agency, name="Sandoval")
    batch = [
        upsert("family", new["id"], new),
        upsert("visit", uuid.uuid4(), visit_of(new["id"], topics=["safety"])),
        upsert("visit", uuid.uuid4(), visit_of(family.id, location="community")),
        upsert(
            "visit",
            visit.id,
            visit_of(family.id, started_at=stamp(visit.started_at), notes="Baby rolling over"),
            base_version=1,
        ),
    ]

    lost = sync(tablet, batch, cursor=cursor)  # committed; the tablet never sees this
    stored = counts()
    replayed = sync(tablet, batch, cursor=cursor)

    assert [r["status"] for r in lost["results"]] == ["applied"] * 4
    assert replayed["results"] == [
        {"id": r["id"], "status": "unchanged", "version": r["version"]} for r in lost["results"]
    ]
    assert counts() == stored
    assert fresh("visit", visit.id).version == 2
    pulled, _cursor, _requests = pull_all(tablet, replayed["cursor"])
    everything = keys(replayed["changes"]) + keys(pulled)
    assert len(everything) == len(set(everything))
    assert {(c["entity"], c["id"]) for c in batch} <= set(everything)


def test_two_tablets_edit_one_visit_from_the_same_version(coalition, api_as, visitor):
    """The home visitor adds a note on her tablet; her supervisor, reviewing the same visit on
    his, changes its topics. Both started from version 1."""
    family = FamilyFactory(home_visitor=visitor)
    visit = VisitFactory(family=family, topics=["health"])
    hers, his = api_as(visitor), api_as(coalition.a.supervisor)
    pull_all(hers)
    pull_all(his)
    base = visit_of(family.id, started_at=stamp(visit.started_at), topics=["health"])

    first = sync(hers, [upsert("visit", visit.id, {**base, "notes": "Mother tired"}, 1)])
    second = sync(his, [upsert("visit", visit.id, {**base, "topics": ["safety"]}, 1)])

    assert first["results"] == [{"id": str(visit.id), "status": "applied", "version": 2}]
    (conflict,) = second["results"]
    assert (conflict["status"], conflict["version"]) == ("conflict", 2)
    assert conflict["current"] == his.get(f"/visits/{visit.id}").get_json()
    assert (conflict["current"]["notes"], conflict["current"]["topics"]) == (
        "Mother tired",
        ["health"],
    )
    stored = fresh("visit", visit.id)
    assert (stored.notes, stored.topics, stored.version) == ("Mother tired", ["health"], 2)

    # He merges his change into the current record and sends it from version 2.
    merged = {**conflict["current"], "topics": ["safety"]}
    resolved = sync(his, [upsert("visit", visit.id, merged, base_version=2)])
    assert resolved["results"] == [{"id": str(visit.id), "status": "applied", "version": 3}]
    stored = fresh("visit", visit.id)
    assert (stored.notes, stored.topics) == ("Mother tired", ["safety"])


def test_one_bad_entry_in_a_good_batch(coalition, tablet, visitor):
    """A family discharged last week; the tablet, offline, still logged a visit with them on
    Tuesday, among a morning's other visits. That one is refused; the others are kept."""
    moved = FamilyFactory(home_visitor=visitor)
    staying = FamilyFactory(home_visitor=visitor, children=1)
    discharged_on = agency_today(coalition.a.agency) - timedelta(days=5)
    response = tablet.post(
        f"/families/{moved.id}/discharge",
        json={"discharged_on": str(discharged_on), "reason": "moved"},
    )
    assert response.status_code == 200
    _pulled, cursor, _requests = pull_all(tablet)
    good = [str(uuid.uuid4()) for _ in range(3)]
    bad = str(uuid.uuid4())
    batch = [
        upsert("visit", good[0], visit_of(staying.id)),
        upsert("visit", bad, visit_of(moved.id, started_at=stamp(hours_ago(48)))),
        upsert("visit", good[1], visit_of(staying.id, participants=[str(staying.children[0].id)])),
        upsert("visit", good[2], visit_of(moved.id, started_at=stamp(hours_ago(24 * 8)))),
    ]

    answer = sync(tablet, batch, cursor=cursor)

    statuses = {r["id"]: r["status"] for r in answer["results"]}
    assert statuses == {good[0]: "applied", bad: "rejected", good[1]: "applied", good[2]: "applied"}
    rejected = next(r for r in answer["results"] if r["id"] == bad)
    assert "data.started_at" in rejected["errors"]
    assert fresh("visit", bad) is None
    # The answer's own pull brings back what was kept, as stored, and nothing of the refused.
    assert ("visit", bad) not in keys(answer["changes"])
    assert {("visit", g) for g in good} <= set(keys(answer["changes"]))
    assert pull_all(tablet, answer["cursor"])[0] == []


def test_a_family_handed_to_a_colleague_leaves_the_old_tablet(coalition, api_as, visitor):
    """Her supervisor hands the Vangs to a colleague. On her next sync the family, its members
    and its visits leave her tablet; her colleague's tablet receives them all; a visit she
    logged offline for them afterwards is refused as if the family were unknown."""
    family = FamilyFactory(home_visitor=visitor, children=2)
    visits = [VisitFactory(family=family) for _ in range(3)]
    records = records_of(family, visits)
    hers, colleagues = api_as(visitor), api_as(coalition.a.other_visitor)
    _pulled, her_cursor, _requests = pull_all(hers)
    _pulled, their_cursor, _requests = pull_all(colleagues)

    answer = api_as(coalition.a.supervisor).post(
        f"/families/{family.id}/assignment",
        json={"home_visitor_id": str(coalition.a.other_visitor.id), "note": "Caseload balance"},
    )
    assert answer.status_code == 200
    late_visit = str(uuid.uuid4())
    answer = sync(hers, [upsert("visit", late_visit, visit_of(family.id))], cursor=her_cursor)

    assert answer["results"][0]["status"] == "rejected"
    assert "data.family_id" in answer["results"][0]["errors"]
    removed = answer["changes"]
    assert {(c["entity"], c["id"]) for c in removed} == records
    assert all(c["removed"] is True and "data" not in c for c in removed)
    assert pull_all(hers, answer["cursor"])[0] == []

    received, _cursor, _requests = pull_all(colleagues, their_cursor)
    assert set(keys(received)) == records
    assert received[0] == {
        "entity": "family",
        "id": str(family.id),
        "version": received[0]["version"],
        "data": received[0]["data"],
    }
    assert received[0]["data"]["home_visitor_id"] == str(coalition.a.other_visitor.id)
    assert fresh("visit", late_visit) is None
    assert len(family_assignments(family.id)) == 2


def family_assignments(family_id) -> list:
    return list(db.session.scalars(select(Assignment).where(Assignment.family_id == family_id)))


def test_a_new_tablets_first_sync_carries_what_it_enrolled_offline(coalition, tablet):
    """A tablet fresh out of the box goes straight to the field, enrolls a family and logs a
    visit; its first sync pushes them with no cursor. Each record reaches the tablet once."""
    new = household(coalition.a.agency, name="Abdi")
    visit_id = str(uuid.uuid4())
    batch = [upsert("family", new["id"], new), upsert("visit", visit_id, visit_of(new["id"]))]

    first = sync(tablet, batch)
    rest, _cursor, _requests = pull_all(tablet, first["cursor"])

    assert [r["status"] for r in first["results"]] == ["applied", "applied"]
    everything = keys(first["changes"]) + keys(rest)
    assert sorted(everything) == sorted(set(everything))
    assert ("family", new["id"]) in everything
    assert ("visit", visit_id) in everything
