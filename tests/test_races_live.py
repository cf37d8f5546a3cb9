"""Concurrent repeats and concurrent writes, raced against real server processes: gunicorn with
4 workers on PostgreSQL, 20 requests sent at once (a barrier releases them together), for
several rounds.

What is asserted is what DESIGN.md promise 1 and API.md's Conventions promise, whatever the
timings: a concurrent repeat of an ``Idempotency-Key`` never creates a second record (each
answer is the first response, or a 409 while the first is in progress); without ``If-Match``
concurrent writes to one record apply one after the other, each answering as it would alone;
412 only ever answers a stale ``If-Match``; identical PUTs of a new id create it once.
``pytest -s`` prints each scenario's rounds and the answers counted.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.organisations.models import Agency
from hvcase.visits.models import Visit
from tests.api import sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import AgencyFactory, FamilyFactory, UserFactory
from tests.families import audit_events, enrollment_body
from tests.live import (
    LiveClient,
    LiveServer,
    Reply,
    committing_app,
    delete_agency,
    one_transaction,
    row_counts,
)
from tests.visits import completed_visit, hours_ago, stamp

pytestmark = pytest.mark.postgres

ROUNDS = 10
SENDERS = 20  # requests raced per round
WORKERS = 4  # gunicorn worker processes: up to 4 of the 20 are served at the same moment
IN_PROGRESS = "A request with this Idempotency-Key is in progress."


# The server and its agency ----------------------------------------------------------------


@pytest.fixture(scope="module")
def live(app: Flask) -> Iterator[SimpleNamespace]:
    """gunicorn with WORKERS workers, and an agency with a home visitor and a family,
    committed for real, shared by the module's scenarios (booting the server is the slow
    part); then the server stopped, the agency deleted and the row counts of every table
    checked back to what they were. (``app``: the test database's schema is built.)"""
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: live races need PostgreSQL")
    server = LiveServer(DATABASE_URL, workers=WORKERS)  # boots while the data is made
    try:
        with committing_app(DATABASE_URL) as committing:
            before = row_counts()
            with one_transaction():
                tag = uuid.uuid4().hex[:8]
                agency = AgencyFactory(name=f"Live races {tag}")
                visitor = UserFactory(
                    role="home_visitor", agency=agency, email=f"races-{tag}@example.org"
                )
                family = FamilyFactory(home_visitor=visitor)
                admin = UserFactory(role="agency_admin", agency=agency)
                team = [UserFactory(role="home_visitor", agency=agency) for _ in range(SENDERS)]
                world = SimpleNamespace(
                    app=committing,
                    agency_id=agency.id,
                    family_id=family.id,
                    caregiver_id=family.primary_caregiver.id,
                    headers=sign_in_as(visitor, device_name="race test"),
                    admin=sign_in_as(admin, device_name="race test"),
                    team=[str(member.id) for member in team],
                )
            try:
                world.url = server.ready()
                yield world
            finally:
                server.stop()  # no request in flight while the agency goes
                db.session.rollback()
                delete_agency(world.agency_id)
                after = row_counts()
    finally:
        server.stop()
    changed = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert not changed, f"rows left behind (or lost), by table: {changed}"


@contextmanager
def database(world: SimpleNamespace) -> Iterator[None]:
    """The committed database as it stands now (the test's own session rolls back and would
    not see what the server committed), through the committing app."""
    with world.app.app_context():
        yield


def visit_ids(world: SimpleNamespace) -> set[str]:
    """The family's visits, voided ones included."""
    with database(world):
        rows = db.session.scalars(select(Visit.id).where(Visit.family_id == world.family_id))
        return {str(visit_id) for visit_id in rows}


def stored_visit(world: SimpleNamespace, visit_id: str) -> Visit:
    with database(world):
        visit = db.session.get(Visit, uuid.UUID(visit_id))
        db.session.expunge(visit)  # read after the context ends
        return visit


def audited(world: SimpleNamespace, action: str, object_id: str) -> int:
    with database(world):
        return len(audit_events(action, object_id=object_id))


def new_visit(world: SimpleNamespace, rnd: int) -> dict[str, Any]:
    """A visit logged through the API (version 1); each round's on another day."""
    reply = once(world, "POST", "/visits", json=visit_body(world, rnd))
    assert reply.status == 201, reply.text()
    return reply.json()


def visit_body(world: SimpleNamespace, rnd: int) -> dict[str, Any]:
    family = SimpleNamespace(id=world.family_id)
    return completed_visit(family, started_at=stamp(hours_ago(26 + 24 * rnd)))


# The race ---------------------------------------------------------------------------------


def client(world: SimpleNamespace) -> LiveClient:
    return LiveClient(world.url, world.headers)


def once(world: SimpleNamespace, method: str, path: str, **kwargs: Any) -> Reply:
    """One request on its own connection, closed after."""
    sender = client(world)
    try:
        return sender.request(method, path, **kwargs)
    finally:
        sender.close()


def race(
    world: SimpleNamespace,
    method: str,
    path: str,
    bodies: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> list[Reply]:
    """SENDERS requests at once (``bodies``: one each, or none); the replies in the order of
    ``bodies``."""
    sent = [(method, path, None if bodies is None else bodies[i]) for i in range(SENDERS)]
    return race_each(world, sent, headers)


def race_each(
    world: SimpleNamespace,
    requests: list[tuple[str, str, Any]],
    headers: dict[str, str] | None = None,
) -> list[Reply]:
    """``requests`` (method, path, body) at once, each from its own thread on its own
    connection, opened before a barrier so that the requests leave together; the replies in
    their order."""
    barrier = threading.Barrier(len(requests))

    def one(request: tuple[str, str, Any]) -> Reply:
        method, path, body = request
        sender = client(world)
        try:
            sender.connection.connect()
            barrier.wait(timeout=60)
            return sender.request(method, path, json=body, headers=headers)
        finally:
            sender.close()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(one, requests))


def header(reply: Reply, name: str) -> str | None:
    """A response header, by name in any case."""
    return next((v for k, v in reply.headers.items() if k.lower() == name.lower()), None)


def report(scenario: str, rounds: int, outcomes: Counter) -> None:
    counted = ", ".join(f"{name}: {count}" for name, count in sorted(outcomes.items()))
    print(f"\n{scenario}: {rounds} rounds x {SENDERS} requests, {WORKERS} workers; {counted}")


def replays_of_one_create(replies: list[Reply], outcomes: Counter) -> Reply:
    """The one first response (a 201 not replayed) among concurrent repeats of one
    Idempotency-Key; every other answer its replay (same status, body and ETag) or a 409
    while it was in progress. Counted into ``outcomes``."""
    first = [r for r in replies if r.status == 201 and header(r, "Idempotent-Replayed") is None]
    assert len(first) == 1, [(r.status, r.text()[:200]) for r in replies]
    (original,) = first
    for reply in replies:
        if reply is original:
            outcomes["201 first"] += 1
        elif reply.status == 201:
            assert header(reply, "Idempotent-Replayed") == "true"
            assert reply.json() == original.json()
            assert header(reply, "ETag") == header(original, "ETag")
            outcomes["201 replayed"] += 1
        else:
            assert reply.status == 409, (reply.status, reply.text())
            assert reply.json()["detail"] == IN_PROGRESS
            outcomes["409 in progress"] += 1
    return original


# 1. Idempotency-Key ------------------------------------------------------------------------


def test_concurrent_repeats_of_one_idempotency_key_create_one_visit(live):
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        key = f"race-visit-{uuid.uuid4()}"
        body = visit_body(live, rnd)
        before = visit_ids(live)

        replies = race(live, "POST", "/visits", [body] * SENDERS, {"Idempotency-Key": key})

        original = replays_of_one_create(replies, outcomes)
        assert visit_ids(live) - before == {original.json()["id"]}, f"round {rnd}"
    report("POST /visits, one Idempotency-Key", ROUNDS, outcomes)


def test_concurrent_repeats_of_one_idempotency_key_create_one_family(live):
    with database(live):
        body = enrollment_body(db.session.get(Agency, live.agency_id))
        before = _household_counts(live.agency_id)
    key = f"race-family-{uuid.uuid4()}"
    outcomes: Counter = Counter()

    replies = race(live, "POST", "/families", [body] * SENDERS, {"Idempotency-Key": key})

    original = replays_of_one_create(replies, outcomes)
    with database(live):
        after = _household_counts(live.agency_id)
        created = db.session.scalars(
            select(Family.id).where(Family.agency_id == live.agency_id)
        ).all()
    # One household more: a family, its two caregivers and its child.
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 2, 1)
    assert original.json()["id"] in {str(family_id) for family_id in created}
    report("POST /families, one Idempotency-Key", 1, outcomes)


def _household_counts(agency_id: uuid.UUID) -> tuple[int, int, int]:
    """(families, caregivers, children) of the agency."""
    families = select(Family.id).where(Family.agency_id == agency_id)

    def count(model: type, column: Any) -> int:
        return db.session.scalar(
            select(func.count()).select_from(model).where(column.in_(families))
        )

    return (
        count(Family, Family.id),
        count(Caregiver, Caregiver.family_id),
        count(Child, Child.family_id),
    )


# 2. Without If-Match: one after the other --------------------------------------------------


def test_concurrent_patches_without_if_match_apply_one_after_the_other(live):
    visit_id = new_visit(live, 0)["id"]
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        initial = stored_visit(live, visit_id).version
        sent = [f"Round {rnd}, tablet {i}" for i in range(SENDERS)]

        replies = race(live, "PATCH", f"/visits/{visit_id}", [{"notes": n} for n in sent])

        outcomes.update(str(r.status) for r in replies)
        assert [r.status for r in replies] == [200] * SENDERS, [r.text()[:200] for r in replies]
        # Each answered as it would alone: its own notes, on a version of its own.
        assert [r.json()["notes"] for r in replies] == sent
        versions = sorted(r.json()["version"] for r in replies)
        assert versions == list(range(initial + 1, initial + SENDERS + 1)), f"round {rnd}"
        last = max(replies, key=lambda r: r.json()["version"])
        stored = stored_visit(live, visit_id)
        assert (stored.version, stored.notes) == (initial + SENDERS, last.json()["notes"])
    assert audited(live, "update", visit_id) == ROUNDS * SENDERS
    report("PATCH /visits/{id} without If-Match", ROUNDS, outcomes)


def test_concurrent_voids_of_one_visit_void_it_once(live):
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        visit_id = new_visit(live, rnd)["id"]

        replies = race(live, "DELETE", f"/visits/{visit_id}?reason=Logged%20twice")

        outcomes.update(str(r.status) for r in replies)
        assert [r.status for r in replies] == [200] * SENDERS, [r.text()[:200] for r in replies]
        # A repeated DELETE answers 200 and changes nothing: every answer is the one void.
        assert len({r.body for r in replies}) == 1
        voided_json = replies[0].json()
        assert (voided_json["version"], voided_json["void_reason"]) == (2, "Logged twice")
        assert voided_json["voided_at"] is not None
        assert stored_visit(live, visit_id).version == 2
        assert audited(live, "void", visit_id) == 1, f"round {rnd}"
    report("DELETE /visits/{id} without If-Match", ROUNDS, outcomes)


# 3. Identical PUTs of a new id -------------------------------------------------------------


def test_concurrent_identical_puts_of_a_new_id_create_it_once(live):
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        visit_id = str(uuid.uuid4())
        body = visit_body(live, rnd)
        before = visit_ids(live)

        replies = race(live, "PUT", f"/visits/{visit_id}", [body] * SENDERS)

        statuses = Counter(r.status for r in replies)
        outcomes.update(str(r.status) for r in replies)
        assert statuses == {201: 1, 200: SENDERS - 1}, [(r.status, r.text()[:200]) for r in replies]
        # The repeats replaced it with itself: the same record, still at version 1.
        assert len({r.body for r in replies}) == 1
        assert replies[0].json()["version"] == 1
        assert visit_ids(live) - before == {visit_id}
        assert stored_visit(live, visit_id).version == 1
        assert audited(live, "create", visit_id) == 1
        assert audited(live, "update", visit_id) == 0
    report("PUT /visits/{new id}, identical", ROUNDS, outcomes)


# 4. One If-Match: one write, then it is stale ----------------------------------------------


def test_concurrent_patches_with_one_if_match_let_exactly_one_through(live):
    visit_id = new_visit(live, 0)["id"]
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        read = once(live, "GET", f"/visits/{visit_id}")
        etag, initial = header(read, "ETag"), read.json()["version"]
        sent = [f"Round {rnd}, tablet {i}" for i in range(SENDERS)]

        replies = race(
            live, "PATCH", f"/visits/{visit_id}", [{"notes": n} for n in sent], {"If-Match": etag}
        )

        statuses = Counter(r.status for r in replies)
        outcomes.update(str(r.status) for r in replies)
        assert statuses == {200: 1, 412: SENDERS - 1}, [(r.status, r.text()[:200]) for r in replies]
        (winner,) = [i for i, r in enumerate(replies) if r.status == 200]
        assert replies[winner].json()["version"] == initial + 1
        for reply in replies:
            if reply.status == 412:
                assert reply.json()["status"] == 412
        stored = stored_visit(live, visit_id)
        assert (stored.version, stored.notes) == (initial + 1, sent[winner])
    report("PATCH /visits/{id} with one If-Match", ROUNDS, outcomes)


# 5. A family's writers at once -------------------------------------------------------------


def stored_family(world: SimpleNamespace) -> Family:
    with database(world):
        return db.session.get(Family, world.family_id)


def test_concurrent_reassignments_and_member_edits_of_one_family_all_apply(live):
    """An office reassigns a family over and over while its caregiver is edited, all at once
    and without If-Match, across the worker processes: every request applies on the one before
    (no 412: reassignments once raced; no 503: an edit of a caregiver and a write of its family
    once deadlocked over the family's row and the agency's clock)."""
    outcomes: Counter = Counter()
    for rnd in range(ROUNDS):
        initial = stored_family(live).version
        half = SENDERS // 2
        team = live.team[rnd % 2 :: 2][:half]  # never the family's current home visitor twice
        requests = [
            ("POST", f"/families/{live.family_id}/assignment", {"home_visitor_id": member})
            for member in team
        ] + [
            ("PATCH", f"/caregivers/{live.caregiver_id}", {"last_name": f"Round{rnd}-{i}"})
            for i in range(half)
        ]

        replies = race_each(live, requests, live.admin)

        outcomes.update(str(r.status) for r in replies)
        assert [r.status for r in replies] == [200] * len(requests), [
            r.text()[:200] for r in replies
        ]
        family = stored_family(live)
        assert family.version == initial + half, f"round {rnd}"
        assert str(family.home_visitor_id) in team
        with database(live):
            caregiver = db.session.get(Caregiver, live.caregiver_id)
            assert caregiver.last_name.startswith(f"Round{rnd}-")
    report("POST /families/{id}/assignment and PATCH /caregivers/{id} at once", ROUNDS, outcomes)
