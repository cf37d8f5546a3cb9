"""Pushing a tablet's changes: each applied on its own through the REST rules, each with its
own result; replays that change nothing; conflicts that never overwrite; and records outside
the caller's scope that stay untouched and unrevealed."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hvcase.extensions import db
from hvcase.families.models import Assignment, Enrollment
from tests.api import assert_problem, counting_queries
from tests.factories import NO_FAMILY_DATA, FamilyFactory, VisitFactory, agency_today
from tests.families import audit_events, caregiver_body
from tests.sync import (
    count,
    counts,
    fresh,
    household,
    sync,
    upsert,
    visit_of,
    void,
)
from tests.visits import hours_ago, stamp


def writes() -> list:
    """Every audit event that records a write (a sync's own ``search`` event aside)."""
    return [e for e in audit_events() if e.action not in ("search", "read")]


def results_by_id(answer: dict) -> dict[str, dict]:
    return {result["id"]: result for result in answer["results"]}


# --- Who may sync, and what a request must look like ---------------------------------------


@pytest.mark.parametrize("role", NO_FAMILY_DATA)
def test_fiscal_hosts_and_admins_get_403(coalition, api_as, family, role):
    user = coalition.fiscal_host if role == "fiscal_host" else coalition.admin
    change = upsert("visit", uuid.uuid4(), visit_of(family.id))

    response = api_as(user).post("/sync", json={"device_id": "office-pc", "changes": [change]})

    assert_problem(response, 403)
    assert count("visit") == 0
    assert len(audit_events("denied", user_id=user.id)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"device_id": "", "changes": []}, "device_id"),
        ({"device_id": "x" * 101, "changes": []}, "device_id"),
        ({"changes": []}, "device_id"),
        ({"device_id": "tab-1"}, "changes"),
        ({"device_id": "tab-1", "changes": [], "limit": 0}, "limit"),
        ({"device_id": "tab-1", "changes": [], "limit": 1001}, "limit"),
        ({"device_id": "tab-1", "changes": [], "cursor": "not a cursor"}, "cursor"),
        ({"device_id": "tab-1", "changes": [], "cursor": "bm90LmEuY3Vyc29y"}, "cursor"),
        ({"device_id": "tab-1", "changes": [], "cursor": 42}, "cursor"),
        ({"device_id": "tab-1", "changes": [], "since": "yesterday"}, "since"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_malformed_request_is_a_422(api, body, field):
    assert_problem(api.post("/sync", json=body), 422, field)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"entity": "pet"}, "changes.0.entity"),
        ({"op": "delete"}, "changes.0.op"),
        ({"id": "visit-1"}, "changes.0.id"),
        ({"base_version": 0}, "changes.0.base_version"),
        ({"data": None}, "changes.0.data"),
        ({"data": []}, "changes.0.data"),
        ({"colour": "blue"}, "changes.0.colour"),
    ],
)
def test_a_malformed_change_is_a_422_for_the_whole_batch(api, family, change, field):
    good = upsert("visit", uuid.uuid4(), visit_of(family.id))
    bad = {**upsert("visit", uuid.uuid4(), visit_of(family.id)), **change}

    response = api.post("/sync", json={"device_id": "tab-1", "changes": [bad, good]})

    assert_problem(response, 422, field)
    assert count("visit") == 0


def test_more_than_500_changes_is_a_422_and_writes_nothing(api, family):
    changes = [upsert("visit", uuid.uuid4(), visit_of(family.id)) for _ in range(501)]

    response = api.post("/sync", json={"device_id": "tab-1", "changes": changes})

    assert_problem(response, 422, "changes")
    assert count("visit") == 0


def test_500_changes_are_one_batch(api, family):
    changes = [upsert("visit", uuid.uuid4(), visit_of(family.id)) for _ in range(500)]

    answer = sync(api, changes)

    assert [r["status"] for r in answer["results"]] == ["applied"] * 500
    assert count("visit") == 500


def test_a_pull_brings_500_changes_unless_told_otherwise(api, family):
    sync(api, [upsert("visit", uuid.uuid4(), visit_of(family.id)) for _ in range(500)])

    default = sync(api)  # 500 visits, the family, its caregiver and child: 503 in scope
    one = sync(api, limit=1)

    assert (len(default["changes"]), default["more"]) == (500, True)
    assert (len(one["changes"]), one["more"]) == (1, True)
    assert one["changes"] == default["changes"][:1]


def test_every_sync_is_in_the_audit_log_with_what_it_moved(coalition, api, family):
    sync(api, [upsert("visit", uuid.uuid4(), visit_of(family.id))], device="tab-7")

    (event,) = audit_events("search", object_type="sync")
    assert event.user_id == coalition.a.visitor.id
    # The pull that follows the push: the family, its caregiver, child and the new visit.
    assert event.detail == {
        "device_id": "tab-7",
        "pushed": 1,
        "pulled": 4,
        "families_sent": [str(family.id)],  # who has this family on a tablet
    }


def test_the_rest_rules_refuse_what_rest_refuses_and_the_batch_goes_on(coalition, api_as, api):
    """A visit for a voided family (409 through REST) and a caregiver created without its
    family_id (API.md: required in /sync) are rejected; the change between them applies."""
    voided = FamilyFactory(home_visitor=coalition.a.visitor)
    api_as(coalition.a.supervisor).delete(f"/families/{voided.id}")
    kept = FamilyFactory(home_visitor=coalition.a.visitor)
    visit_id, applied_id, caregiver_id = (uuid.uuid4() for _ in range(3))

    answer = sync(
        api,
        [
            upsert("visit", visit_id, visit_of(voided.id)),
            upsert("visit", applied_id, visit_of(kept.id)),
            upsert("caregiver", caregiver_id, caregiver_body()),
        ],
    )

    refused, applied, orphan = answer["results"]
    assert refused["status"] == "rejected" and set(refused["errors"]) == {"id"}
    assert applied["status"] == "applied"
    assert orphan == {
        "id": str(caregiver_id),
        "status": "rejected",
        "errors": {"data.family_id": ["Required to create a record."]},
    }
    assert fresh("visit", visit_id) is None and fresh("caregiver", caregiver_id) is None


# --- Applied, each on its own --------------------------------------------------------------


def test_new_records_are_applied_at_version_1_with_the_tablets_ids(coalition, api, family):
    new_family = household(coalition.a.agency)
    grandmother = {
        "family_id": str(family.id),
        "first_name": "Rosa",
        "last_name": "Vega",
        "relationship": "grandparent",
        "primary": False,
    }
    baby = {"family_id": str(family.id), "first_name": "Leo", "last_name": "Vega"}
    baby["birth_date"] = "2026-01-02"
    changes = [
        upsert("family", new_family["id"], new_family),
        upsert("caregiver", uuid.uuid4(), grandmother),
        upsert("child", uuid.uuid4(), baby),
        upsert("visit", uuid.uuid4(), visit_of(new_family["id"])),
    ]

    answer = sync(api, changes)

    assert answer["results"] == [
        {"id": change["id"], "status": "applied", "version": 1} for change in changes
    ]
    assert fresh("family", new_family["id"]).home_visitor_id == coalition.a.visitor.id
    assert fresh("caregiver", changes[1]["id"]).family_id == family.id
    assert fresh("child", changes[2]["id"]).family_id == family.id
    assert str(fresh("visit", changes[3]["id"]).family_id) == new_family["id"]
    assert count("caregiver") == 1 + 2 + 1  # the factory's, the new household's, the grandmother


def test_an_edit_from_the_current_version_is_applied_as_the_next(api, family):
    visit = VisitFactory(family=family)
    data = visit_of(family.id, started_at=stamp(visit.started_at), notes="Brought books")

    answer = sync(api, [upsert("visit", visit.id, data, base_version=1)])

    assert answer["results"] == [{"id": str(visit.id), "status": "applied", "version": 2}]
    assert fresh("visit", visit.id).notes == "Brought books"


def test_a_change_without_base_version_is_a_create_and_never_overwrites(api, family):
    visit = VisitFactory(family=family)
    data = visit_of(family.id, started_at=stamp(visit.started_at), notes="No base")

    answer = sync(api, [upsert("visit", visit.id, data)])

    (result,) = answer["results"]
    assert (result["status"], result["version"]) == ("conflict", 1)
    assert result["current"]["notes"] == visit.notes
    assert fresh("visit", visit.id).notes == visit.notes


def test_a_void_is_applied_then_unchanged_on_replay(api, family):
    visit = VisitFactory(family=family)
    change = void("visit", visit.id, "Logged on the wrong family", base_version=1)

    first = sync(api, [change])
    again = sync(api, [change])

    assert first["results"] == [{"id": str(visit.id), "status": "applied", "version": 2}]
    assert again["results"] == [{"id": str(visit.id), "status": "unchanged", "version": 2}]
    stored = fresh("visit", visit.id)
    assert (stored.void_reason, stored.version) == ("Logged on the wrong family", 2)
    assert stored.voided_at is not None
    assert len(audit_events("void", object_id=visit.id)) == 1


def test_a_void_of_a_record_that_exists_nowhere_is_rejected(api):
    missing = uuid.uuid4()

    answer = sync(api, [void("visit", missing)])

    assert answer["results"] == [
        {"id": str(missing), "status": "rejected", "errors": {"id": ["not found"]}}
    ]


def test_a_void_with_an_unknown_field_is_rejected(api, family):
    visit = VisitFactory(family=family)

    answer = sync(api, [{**void("visit", visit.id), "data": {"why": "x"}}])

    assert answer["results"][0]["status"] == "rejected"
    assert "data.why" in answer["results"][0]["errors"]
    assert fresh("visit", visit.id).voided_at is None


def test_an_edit_of_a_voided_visit_is_a_conflict_with_the_voided_record(api, family):
    visit = VisitFactory(family=family)
    api.delete(f"/visits/{visit.id}")
    data = visit_of(family.id, started_at=stamp(visit.started_at), notes="Too late")

    answer = sync(api, [upsert("visit", visit.id, data, base_version=2)])

    (result,) = answer["results"]
    assert result["status"] == "conflict"
    assert result["current"] == api.get(f"/visits/{visit.id}").get_json()
    assert fresh("visit", visit.id).notes is None


# --- Many new visits at once ---------------------------------------------------------------


def test_changes_to_records_new_in_the_same_batch_apply_in_the_order_sent(coalition, api):
    """New visits are written together; a change that names one of them, or a visit of a
    family the same batch enrolls, still sees what came before it."""
    new_family = household(coalition.a.agency, name="Orden")
    caregiver_id = new_family["caregivers"][0]["id"]
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    first, second, third = (uuid.uuid4() for _ in range(3))
    changes = [
        upsert("visit", first, visit_of(family.id)),
        upsert("visit", first, visit_of(family.id, notes="Corrected"), base_version=1),
        upsert("family", new_family["id"], new_family),
        upsert("visit", second, visit_of(new_family["id"], participants=[caregiver_id])),
        void("visit", first, "Logged twice", base_version=2),
        upsert("visit", third, visit_of(family.id)),
        upsert("visit", third, visit_of(family.id)),
    ]

    answer = sync(api, changes)

    assert [(r["status"], r.get("version")) for r in answer["results"]] == [
        ("applied", 1),
        ("applied", 2),
        ("applied", 1),
        ("applied", 1),
        ("applied", 3),
        ("applied", 1),
        ("unchanged", 1),
    ]
    voided = fresh("visit", first)
    assert (voided.notes, voided.void_reason, voided.version) == ("Corrected", "Logged twice", 3)
    assert str(fresh("visit", second).family_id) == new_family["id"]
    assert len(audit_events("create", object_id=third)) == 1


def test_each_new_visit_of_a_batch_is_audited_with_its_familys_agency(coalition, api, family):
    ids = [uuid.uuid4() for _ in range(3)]

    sync(api, [upsert("visit", visit_id, visit_of(family.id)) for visit_id in ids])

    for visit_id in ids:
        (event,) = audit_events("create", object_id=visit_id)
        assert (event.object_type, event.object_agency_id) == ("visit", coalition.a.agency.id)
        assert event.user_id == coalition.a.visitor.id


def test_a_new_visit_outside_scope_among_new_visits_is_refused_alone(coalition, api, family):
    theirs = FamilyFactory(home_visitor=coalition.b.visitor)
    before, stranger, after = (uuid.uuid4() for _ in range(3))
    changes = [
        upsert("visit", before, visit_of(family.id)),
        upsert("visit", stranger, visit_of(theirs.id)),
        upsert("visit", after, visit_of(family.id)),
    ]

    answer = sync(api, changes)

    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["applied", "rejected", "applied"]
    assert answer["results"][1]["errors"] == {"data.family_id": ["No such family."]}
    assert fresh("visit", stranger) is None
    assert fresh("visit", before) is not None and fresh("visit", after) is not None
    (denied,) = audit_events("denied", object_id=theirs.id)
    assert denied.object_agency_id == coalition.b.agency.id


def test_fifty_new_visits_take_as_many_queries_as_five(api, family):
    """No statement per visit: the batch's new visits are looked up, checked and written
    together, and the visits pulled back with it are read together."""

    def batch(size: int) -> list[dict]:
        return [upsert("visit", uuid.uuid4(), visit_of(family.id)) for _ in range(size)]

    five, fifty = batch(5), batch(50)
    cursor = sync(api)["cursor"]
    cursor = sync(api, batch(5), cursor=cursor)["cursor"]  # pulled back by the next one
    with counting_queries() as small:
        cursor = sync(api, five, cursor=cursor)["cursor"]
    with counting_queries() as large:
        answer = sync(api, fifty, cursor=cursor)

    assert [r["status"] for r in answer["results"]] == ["applied"] * 50
    assert len(answer["changes"]) == 50  # pulled back in the same answer, once
    assert len(large) == len(small), "\n\n".join(large)


def test_corrections_of_visits_are_read_together(api, family):
    """A batch's existing visits, their families and the families' members are read once for
    the batch: a correction then costs only its own savepoint, UPDATE and audit event."""
    visits = [VisitFactory(family=family) for _ in range(9)]
    data = {v.id: visit_of(family.id, notes=f"Corrected {n}") for n, v in enumerate(visits)}

    def corrections(chosen: list) -> list[dict]:
        return [upsert("visit", v.id, data[v.id], base_version=1) for v in chosen]

    one, two, six = corrections(visits[:1]), corrections(visits[1:3]), corrections(visits[3:])
    cursor = sync(api)["cursor"]
    cursor = sync(api, one, cursor=cursor)["cursor"]  # each batch then pulls the one before
    with counting_queries() as small:
        cursor = sync(api, two, cursor=cursor)["cursor"]
    with counting_queries() as large:
        answer = sync(api, six, cursor=cursor)

    assert [(r["status"], r["version"]) for r in answer["results"]] == [("applied", 2)] * 6
    per_correction = ["SAVEPOINT", "UPDATE visits", "INSERT INTO audit_events", "RELEASE"]
    assert len(large) - len(small) == len(per_correction) * 4, "\n\n".join(large)


# --- One invalid item among valid ones -----------------------------------------------------


def test_an_invalid_item_is_rejected_and_the_valid_ones_applied(coalition, api, family):
    neighbours = FamilyFactory(home_visitor=coalition.a.visitor)
    before = VisitFactory(family=family)
    first, stranger, bad_topic, last = (uuid.uuid4() for _ in range(4))
    changes = [
        upsert("visit", first, visit_of(family.id)),
        upsert(
            "visit",
            stranger,
            visit_of(family.id, participants=[str(neighbours.primary_caregiver.id)]),
        ),
        upsert("visit", bad_topic, visit_of(family.id, topics=["gossip"])),
        upsert("visit", last, visit_of(family.id, notes="After the bad ones")),
    ]

    answer = sync(api, changes)

    results = results_by_id(answer)
    assert results[str(first)] == {"id": str(first), "status": "applied", "version": 1}
    assert results[str(last)]["status"] == "applied"
    assert results[str(stranger)]["status"] == "rejected"
    assert set(results[str(stranger)]["errors"]) == {"data.participants"}
    assert results[str(bad_topic)]["status"] == "rejected"
    assert set(results[str(bad_topic)]["errors"]) == {"data.topics.0"}
    assert fresh("visit", stranger) is None
    assert fresh("visit", bad_topic) is None
    assert count("visit") == 3
    assert fresh("visit", before.id).version == 1
    assert audit_events(object_id=stranger) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "scheduled", "started_at": None}, "data.scheduled_for"),
        ({"duration_minutes": None}, "data.duration_minutes"),
        ({"duration_minutes": 600}, "data.duration_minutes"),
        ({"started_at": "2026-03-10T10:00:00"}, "data.started_at"),
        ({"location": "car"}, "data.location"),
        ({"family_id": None}, "data.family_id"),
        ({"mood": "good"}, "data.mood"),
    ],
)
def test_a_rejected_visit_names_the_field_inside_data(api, family, change, field):
    visit_id = uuid.uuid4()

    answer = sync(api, [upsert("visit", visit_id, {**visit_of(family.id), **change})])

    (result,) = answer["results"]
    assert result["status"] == "rejected"
    assert field in result["errors"], result
    assert fresh("visit", visit_id) is None


def test_a_rejected_household_leaves_nothing_behind(coalition, api):
    good = household(coalition.a.agency, name="Ortiz")
    bad = household(coalition.a.agency, name="Reyes")
    bad["caregivers"][1]["birth_date"] = "2099-01-01"
    before = counts()
    episodes = count_rows(Enrollment)
    assignments = count_rows(Assignment)

    answer = sync(api, [upsert("family", bad["id"], bad), upsert("family", good["id"], good)])

    rejected, applied = answer["results"]
    assert rejected["status"] == "rejected"
    assert "data.caregivers.1.birth_date" in rejected["errors"]
    assert applied["status"] == "applied"
    assert counts() == {
        "family": before["family"] + 1,
        "caregiver": before["caregiver"] + 2,
        "child": before["child"] + 1,
        "visit": before["visit"],
    }
    assert fresh("family", bad["id"]) is None
    for caregiver in bad["caregivers"]:
        assert fresh("caregiver", caregiver["id"]) is None
    assert (count_rows(Enrollment), count_rows(Assignment)) == (episodes + 1, assignments + 1)
    assert audit_events(object_id=bad["id"]) == []


def count_rows(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_entities_not_built_yet_are_rejected_item_by_item(api, family):
    referral, visit_id = uuid.uuid4(), uuid.uuid4()
    changes = [
        upsert("referral", referral, {"category": "housing"}),
        upsert("visit", visit_id, visit_of(family.id)),
        void("referral_event", uuid.uuid4()),
    ]

    answer = sync(api, changes)

    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["rejected", "applied", "rejected"]
    assert "entity" in answer["results"][0]["errors"]
    assert fresh("visit", visit_id) is not None


# --- Replays -------------------------------------------------------------------------------


def test_a_replayed_batch_is_unchanged_item_by_item(coalition, api, family):
    edited, voided = VisitFactory(family=family), VisitFactory(family=family)
    new_family = household(coalition.a.agency)
    batch = [
        upsert("family", new_family["id"], new_family),
        upsert("visit", uuid.uuid4(), visit_of(new_family["id"], topics=["nutrition"])),
        upsert(
            "visit",
            edited.id,
            visit_of(family.id, started_at=stamp(edited.started_at), notes="Edited"),
            base_version=1,
        ),
        void("visit", voided.id, "Duplicate", base_version=1),
        upsert(
            "caregiver",
            family.primary_caregiver.id,
            {
                "family_id": str(family.id),
                "first_name": family.primary_caregiver.first_name,
                "last_name": family.primary_caregiver.last_name,
                "birth_date": "1995-03-14",
                "relationship": "mother",
                "primary": True,
                "employment": "part_time",
            },
            base_version=1,
        ),
    ]

    first = sync(api, batch)
    stored, written = counts(), len(writes())
    again = sync(api, batch)

    assert [r["status"] for r in first["results"]] == ["applied"] * 5
    assert again["results"] == [
        {"id": r["id"], "status": "unchanged", "version": r["version"]} for r in first["results"]
    ]
    assert counts() == stored
    assert len(writes()) == written
    assert fresh("visit", edited.id).version == 2
    assert fresh("caregiver", family.primary_caregiver.id).version == 2
    assert fresh("family", new_family["id"]).version == 1


def test_a_replay_after_a_backdated_discharge_is_still_unchanged(coalition, api_as, api, family):
    visit_id = uuid.uuid4()
    batch = [upsert("visit", visit_id, visit_of(family.id, started_at=stamp(hours_ago(48))))]
    first = sync(api, batch)
    when = agency_today(coalition.a.agency) - timedelta(days=4)
    api_as(coalition.a.supervisor).post(
        f"/families/{family.id}/discharge", json={"discharged_on": str(when), "reason": "moved"}
    )

    again = sync(api, batch)

    assert again["results"] == [
        {"id": str(visit_id), "status": "unchanged", "version": first["results"][0]["version"]}
    ]


def test_a_change_identical_to_the_server_is_unchanged_whatever_its_base(api, family):
    visit = VisitFactory(family=family)
    api.patch(f"/visits/{visit.id}", json={"notes": "Same on both tablets"})
    data = visit_of(family.id, started_at=stamp(visit.started_at), notes="Same on both tablets")

    answer = sync(api, [upsert("visit", visit.id, data, base_version=1)])

    assert answer["results"] == [{"id": str(visit.id), "status": "unchanged", "version": 2}]


def test_a_family_sent_back_as_received_with_a_stale_base_is_unchanged(coalition, api_as, api):
    family = FamilyFactory(home_visitor=coalition.a.visitor, children=1)
    received = api.get(f"/families/{family.id}").get_json()
    api_as(coalition.a.supervisor).patch(f"/families/{family.id}", json={"household_size": 4})
    now = api.get(f"/families/{family.id}").get_json()

    answer = sync(api, [upsert("family", family.id, now, base_version=received["version"])])

    assert answer["results"] == [{"id": str(family.id), "status": "unchanged", "version": 2}]


# --- Conflicts -----------------------------------------------------------------------------


def test_a_stale_visit_edit_is_a_conflict_carrying_the_server_record(coalition, api_as, api):
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    visit = VisitFactory(family=family)
    api_as(coalition.a.supervisor).patch(f"/visits/{visit.id}", json={"notes": "Supervisor's"})
    mine = visit_of(family.id, started_at=stamp(visit.started_at), notes="Mine")

    answer = sync(api, [upsert("visit", visit.id, mine, base_version=1)])

    (result,) = answer["results"]
    assert (result["status"], result["version"]) == ("conflict", 2)
    assert result["current"] == api.get(f"/visits/{visit.id}").get_json()
    stored = fresh("visit", visit.id)
    assert (stored.notes, stored.version) == ("Supervisor's", 2)
    assert [e.user_id for e in audit_events("update", object_id=visit.id)] == [
        coalition.a.supervisor.id
    ]


def test_a_stale_family_edit_is_a_conflict_carrying_the_server_record(coalition, api_as, api):
    family = FamilyFactory(home_visitor=coalition.a.visitor, children=1, household_size=3)
    received = api.get(f"/families/{family.id}").get_json()
    api_as(coalition.a.supervisor).patch(f"/families/{family.id}", json={"household_size": 4})
    mine = {**received, "phone": "+16125550999"}

    answer = sync(api, [upsert("family", family.id, mine, base_version=1)])

    (result,) = answer["results"]
    assert (result["status"], result["version"]) == ("conflict", 2)
    assert result["current"] == api.get(f"/families/{family.id}").get_json()
    stored = fresh("family", family.id)
    assert (stored.phone, stored.household_size, stored.version) == ("+16125550100", 4, 2)


def test_a_stale_caregiver_edit_is_a_conflict(coalition, api_as, api, family):
    caregiver = family.primary_caregiver
    received = api.get(f"/caregivers/{caregiver.id}").get_json()
    api_as(coalition.a.supervisor).patch(
        f"/caregivers/{caregiver.id}", json={"employment": "full_time"}
    )

    answer = sync(
        api,
        [upsert("caregiver", caregiver.id, {**received, "insurance": "private"}, base_version=1)],
    )

    (result,) = answer["results"]
    assert result["status"] == "conflict"
    assert result["current"] == api.get(f"/caregivers/{caregiver.id}").get_json()
    assert fresh("caregiver", caregiver.id).insurance is None


def test_a_stale_void_is_a_conflict(coalition, api_as, api, family):
    visit = VisitFactory(family=family)
    api_as(coalition.a.supervisor).patch(f"/visits/{visit.id}", json={"notes": "Checked"})

    answer = sync(api, [void("visit", visit.id, "Duplicate", base_version=1)])

    assert answer["results"][0]["status"] == "conflict"
    assert fresh("visit", visit.id).voided_at is None


# --- Scope ---------------------------------------------------------------------------------


def test_a_record_outside_scope_is_rejected_as_not_found_and_left_alone(coalition, api, family):
    theirs = VisitFactory(family=FamilyFactory(home_visitor=coalition.b.visitor))
    colleagues = VisitFactory(family=FamilyFactory(home_visitor=coalition.a.other_visitor))
    their_family = theirs.family
    changes = [
        upsert("visit", theirs.id, visit_of(family.id, notes="Mine now"), base_version=1),
        upsert("visit", colleagues.id, visit_of(colleagues.family_id, notes="x")),
        void("visit", theirs.id),
        upsert("family", their_family.id, household(coalition.a.agency, id=str(their_family.id))),
        void("caregiver", their_family.primary_caregiver.id),
    ]

    answer = sync(api, changes)

    assert [r["status"] for r in answer["results"]] == ["rejected"] * 5
    assert all(r["errors"] == {"id": ["not found"]} for r in answer["results"])
    assert "current" not in str(answer["results"])
    for visit in (theirs, colleagues):
        stored = fresh("visit", visit.id)
        assert (stored.version, stored.notes, stored.voided_at) == (1, None, None)
        assert stored.family_id == visit.family_id
    assert fresh("family", their_family.id).version == 1
    assert fresh("caregiver", their_family.primary_caregiver.id).voided_at is None
    denied = audit_events("denied", object_id=theirs.id)
    assert denied
    assert {e.object_agency_id for e in denied} == {coalition.b.agency.id}


def test_an_out_of_scope_record_looks_like_one_that_does_not_exist(coalition, api):
    theirs = VisitFactory(family=FamilyFactory(home_visitor=coalition.b.visitor))

    answer = sync(api, [void("visit", theirs.id), void("visit", uuid.uuid4())])

    existing, missing = answer["results"]
    assert existing["errors"] == missing["errors"] == {"id": ["not found"]}
    assert existing["status"] == missing["status"] == "rejected"


def test_a_new_visit_for_a_family_outside_scope_names_family_id(coalition, api):
    theirs = FamilyFactory(home_visitor=coalition.b.visitor)
    visit_id = uuid.uuid4()

    answer = sync(api, [upsert("visit", visit_id, visit_of(theirs.id))])

    assert answer["results"][0]["status"] == "rejected"
    assert "data.family_id" in answer["results"][0]["errors"]
    assert fresh("visit", visit_id) is None


def test_a_home_visitor_may_not_void_a_family_through_sync(coalition, api_as, api, family):
    answer = sync(api, [void("family", family.id, "Moved away")])

    (result,) = answer["results"]
    assert result["status"] == "rejected"
    assert result["errors"] == {"op": ["Home visitors may not void a family."]}
    assert fresh("family", family.id).voided_at is None
    (denied,) = audit_events("denied", object_id=family.id)
    assert (denied.user_id, denied.detail["status"]) == (coalition.a.visitor.id, 403)

    supervisor = sync(api_as(coalition.a.supervisor), [void("family", family.id, "Moved away")])
    assert supervisor["results"][0]["status"] == "applied"
    assert fresh("family", family.id).voided_at is not None


def test_a_home_visitor_may_not_move_a_family_through_sync(coalition, api):
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    received = api.get(f"/families/{family.id}").get_json()
    moved = {**received, "home_visitor_id": str(coalition.a.other_visitor.id)}

    answer = sync(api, [upsert("family", family.id, moved, base_version=1)])

    assert answer["results"][0]["status"] == "rejected"
    assert "data.home_visitor_id" in answer["results"][0]["errors"]
    assert fresh("family", family.id).home_visitor_id == coalition.a.visitor.id


def test_a_void_of_an_id_never_recorded_is_not_found_and_audited_as_denied(coalition, api):
    unknown = uuid.uuid4()

    answer = sync(api, [void("visit", unknown, "Never was")])

    assert answer["results"] == [
        {"id": str(unknown), "status": "rejected", "errors": {"id": ["not found"]}}
    ]
    (denied,) = audit_events("denied", object_id=unknown)
    assert (denied.user_id, denied.detail["status"]) == (coalition.a.visitor.id, 404)
