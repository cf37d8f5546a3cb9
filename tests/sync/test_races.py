"""/sync under real concurrent transactions, on PostgreSQL: two tablets editing the same two
visits in opposite order (a deadlock in the making) never fail a request and never lose a
version; two tablets creating one visit id at once never both win; and one agency's commit
never waits for another agency's clock."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, event, select
from sqlalchemy.orm import Session

from hvcase import create_app
from hvcase.auth.models import ApiToken, LoginSession, User
from hvcase.common.idempotency import IdempotencyRecord
from hvcase.extensions import db
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.organisations.models import Agency
from hvcase.sync.clock import SyncClock
from hvcase.sync.models import AppliedChange, SyncState
from hvcase.visits.models import Visit
from tests.api import ApiClient, sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import AgencyFactory, FamilyFactory, UserFactory, VisitFactory
from tests.sync import upsert, visit_of
from tests.visits import hours_ago, stamp

pytestmark = pytest.mark.postgres

ROUNDS = 10
TRY_AGAIN = {"_": ["try again"]}


@pytest.fixture
def live(app: Flask) -> Iterator[SimpleNamespace]:
    """A second app on the real engine, whose requests commit for real, with two agencies
    (``a``, ``b``), a home visitor and a family each; everything it made is deleted after."""
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: races need PostgreSQL")
    server = create_app(
        "testing", {"DATABASE_URL": DATABASE_URL, "RATELIMIT_STORAGE_URL": "memory://"}
    )
    with server.app_context():
        tag = uuid.uuid4().hex[:6]
        sides = {}
        for name in ("a", "b"):
            agency = AgencyFactory(name=f"Race {name} {tag}")
            visitor = UserFactory(
                role="home_visitor", agency=agency, email=f"race-{name}-{tag}@example.org"
            )
            family = FamilyFactory(home_visitor=visitor)
            sides[name] = SimpleNamespace(
                agency_id=agency.id,
                visitor_id=visitor.id,
                family_id=family.id,
                headers=sign_in_as(visitor),
            )
        world = SimpleNamespace(server=server, **sides)
        try:
            yield world
        finally:
            # Leave the shared database as the rolled-back tests expect it (audit events
            # stay: they are append-only, and name only these ids).
            db.session.rollback()
            agencies = [side.agency_id for side in sides.values()]
            users = [side.visitor_id for side in sides.values()]
            families = select(Family.id).where(Family.agency_id.in_(agencies))
            for model in (Visit, Caregiver, Child, Assignment, Enrollment):
                db.session.execute(delete(model).where(model.family_id.in_(families)))
            db.session.execute(delete(Family).where(Family.agency_id.in_(agencies)))
            for model in (IdempotencyRecord, ApiToken, LoginSession, SyncState, AppliedChange):
                db.session.execute(delete(model).where(model.user_id.in_(users)))
            db.session.execute(delete(SyncClock).where(SyncClock.agency_id.in_(agencies)))
            db.session.execute(delete(User).where(User.id.in_(users)))
            db.session.execute(delete(Agency).where(Agency.id.in_(agencies)))
            db.session.commit()
            db.engine.dispose()
    app.extensions["celery"].set_current()


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; their results (a failure re-raised)."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as error:  # an assert in a thread would only warn
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never returned"
    if errors:
        raise errors[0]
    return results


def pusher(world: SimpleNamespace, side: SimpleNamespace, device: str, changes: list[dict]):
    """A call that sends one /sync (a short pull after the push) and answers (status, body)."""

    def call() -> tuple[int, dict]:
        client = ApiClient(world.server.test_client(), side.headers)
        body = {"device_id": device, "changes": changes, "limit": 1}
        response = client.post("/sync", json=body)
        return response.status_code, response.get_json()

    return call


def stored(world: SimpleNamespace, visit_id: Any) -> Visit:
    with world.server.app_context():  # a session of its own: what is committed now
        visit = db.session.get(Visit, uuid.UUID(str(visit_id)))
        db.session.expunge(visit)
        return visit


def get_visit(world: SimpleNamespace, side: SimpleNamespace, visit_id: Any) -> dict:
    response = ApiClient(world.server.test_client(), side.headers).get(f"/visits/{visit_id}")
    assert response.status_code == 200
    return response.get_json()


# --- (a) Crossed edits ---------------------------------------------------------------------


def test_two_tablets_editing_two_visits_in_opposite_order_never_fail_nor_lose_a_version(live):
    """Tablet x edits v1 then v2, tablet y v2 then v1, from the same versions, at the same
    moment: their row locks cross. Every request answers 200; each change is applied,
    conflicting (the other won it), or, when the deadlock persists, rejected with "try
    again"; never both applied on one version; and each visit's version counts exactly the
    edits applied to it."""
    side = live.a
    with live.server.app_context():
        family = db.session.get(Family, side.family_id)
        made = [VisitFactory(family=family) for _ in range(2)]
        visits = {str(v.id): stamp(v.started_at) for v in made}
    first, second = list(visits)
    applied: dict[str, list[int]] = {first: [], second: []}
    outcomes: Counter = Counter()

    for round_ in range(ROUNDS):
        base = {v: stored(live, v).version for v in visits}

        def edits(order: list[str], who: str, base=base, round_=round_) -> list[dict]:
            return [
                upsert(
                    "visit",
                    v,
                    visit_of(side.family_id, started_at=visits[v], notes=f"{who} {round_}"),
                    base_version=base[v],
                )
                for v in order
            ]

        answers = in_parallel(
            pusher(live, side, "tab-x", edits([first, second], "x")),
            pusher(live, side, "tab-y", edits([second, first], "y")),
        )

        assert [status for status, _ in answers] == [200, 200], answers
        won: Counter = Counter()
        for _status, body in answers:
            for result in body["results"]:
                outcomes[result["status"]] += 1
                if result["status"] == "applied":
                    applied[result["id"]].append(result["version"])
                    won[result["id"]] += 1
                elif result["status"] == "rejected":
                    assert result["errors"] == TRY_AGAIN, result
                elif result["status"] == "conflict":
                    assert result["version"] > base[result["id"]], result
                else:
                    assert result["status"] == "unchanged", result
        assert max(won.values(), default=0) <= 1, answers  # one version, one winner

    for visit_id, versions in applied.items():
        final = stored(live, visit_id)
        assert final.version == 1 + len(versions), (visit_id, versions)
        assert sorted(versions) == list(range(2, final.version + 1))
    assert sum(outcomes.values()) == 4 * ROUNDS
    print(f"\ncrossed edits over {ROUNDS} rounds: {dict(outcomes)}")


# --- (b) One id created twice --------------------------------------------------------------


@pytest.mark.parametrize("same_content", [False, True], ids=["differing", "identical"])
def test_two_tablets_creating_one_visit_id_at_once_never_both_win(live, same_content):
    side = live.a
    for round_ in range(ROUNDS):
        visit_id = str(uuid.uuid4())
        bodies = {
            device: visit_of(
                side.family_id,
                started_at=stamp(hours_ago(30)),
                duration_minutes=50 if same_content else minutes,
                notes="Same visit" if same_content else f"From {device}",
            )
            for device, minutes in (("tab-a", 40), ("tab-b", 70))
        }

        answers = in_parallel(
            *(
                pusher(live, side, device, [upsert("visit", visit_id, body)])
                for device, body in bodies.items()
            )
        )

        assert [status for status, _ in answers] == [200, 200], answers
        results = {
            device: body["results"][0] for device, (_s, body) in zip(bodies, answers, strict=True)
        }
        by_status = {result["status"]: device for device, result in results.items()}
        loser_status = "unchanged" if same_content else "conflict"
        assert sorted(by_status) == sorted(["applied", loser_status]), (round_, results)
        winner, loser = by_status["applied"], by_status[loser_status]
        assert results[winner] == {"id": visit_id, "status": "applied", "version": 1}
        now = get_visit(live, side, visit_id)
        assert (now["version"], now["notes"], now["duration_minutes"]) == (
            1,
            bodies[winner]["notes"],
            bodies[winner]["duration_minutes"],
        )
        if same_content:
            assert results[loser] == {"id": visit_id, "status": "unchanged", "version": 1}
        else:
            assert results[loser] == {
                "id": visit_id,
                "status": "conflict",
                "version": 1,
                "current": now,
            }


# --- (c) One clock per agency --------------------------------------------------------------


HOLD = 1.5  # seconds agency a's transaction holds its clock before committing


def test_a_commit_waits_for_its_own_agencys_clock_only(live):
    """Agency a's transaction has taken its clock (numbered its change) and holds its commit;
    meanwhile a push of agency b completes at once, while a push of agency a waits for the
    clock, and its change is numbered after the held one."""
    for side, device in ((live.a, "warm-a"), (live.b, "warm-b")):  # first requests and clocks
        status, _body = pusher(live, side, device, [])()
        assert status == 200
    with live.server.app_context():
        family = db.session.get(Family, live.a.family_id)
        held_visit = VisitFactory(family=family).id
        clock_before = db.session.get(SyncClock, live.a.agency_id).value
    taken = threading.Event()
    seen: dict[str, int] = {}

    def hold() -> None:
        with live.server.app_context():
            db.session.get(Visit, held_visit).notes = "Held at commit"
            session = db.session()

            # Registered on this session, so it runs after the app's own before_commit
            # (class-level listeners first): the clock row is ticked and locked by then.
            @event.listens_for(session, "before_commit")
            def keep_the_clock(session: Session) -> None:
                seen["held"] = session.scalar(
                    select(SyncClock.value).where(SyncClock.agency_id == live.a.agency_id)
                )
                taken.set()
                time.sleep(HOLD)

            db.session.commit()

    def timed(side: SimpleNamespace, device: str, visit_id: str) -> Callable[[], Any]:
        change = upsert("visit", visit_id, visit_of(side.family_id))
        call = pusher(live, side, device, [change])

        def run() -> tuple[float, int, dict]:
            assert taken.wait(10), "agency a's transaction never took its clock"
            start = time.perf_counter()
            status, body = call()
            return time.perf_counter() - start, status, body

        return run

    new_a, new_b = str(uuid.uuid4()), str(uuid.uuid4())
    _held, (a_took, a_status, a_body), (b_took, b_status, b_body) = in_parallel(
        hold, timed(live.a, "tab-a", new_a), timed(live.b, "tab-b", new_b)
    )

    print(f"\nwhile agency a's clock is held {HOLD}s: b's push {b_took:.3f}s, a's {a_took:.3f}s")
    assert seen["held"] == clock_before + 1
    assert (a_status, b_status) == (200, 200)
    assert [r["status"] for r in a_body["results"] + b_body["results"]] == ["applied"] * 2
    assert b_took < 0.8
    assert a_took >= 1.0
    with live.server.app_context():
        numbered = {
            visit_id: db.session.get(Visit, uuid.UUID(str(visit_id))).change_seq
            for visit_id in (held_visit, new_a)
        }
    assert numbered == {held_visit: clock_before + 1, new_a: clock_before + 2}
