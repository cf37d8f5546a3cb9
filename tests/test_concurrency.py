"""Promises that only real concurrent transactions can show, on PostgreSQL: a concurrent repeat
of an Idempotency-Key POST never creates a second record; two writers racing on one version
never both win."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from flask import Flask
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from hvcase import create_app
from hvcase.auth.models import ApiToken, LoginSession, User
from hvcase.common.idempotency import IdempotencyRecord
from hvcase.common.records import KINDS, locate
from hvcase.extensions import db
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.organisations.models import Agency
from hvcase.sync.clock import SyncClock
from hvcase.sync.models import AppliedChange, SyncState
from hvcase.visits.models import Visit
from tests.api import ApiClient, sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import AgencyFactory, UserFactory


@pytest.fixture
def committing_app(app: Flask):
    """A second app on the real engine: its requests commit for real (no test transaction)."""
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: concurrency needs PostgreSQL")
    live = create_app(
        "testing", {"DATABASE_URL": DATABASE_URL, "RATELIMIT_STORAGE_URL": "memory://"}
    )
    with live.app_context():
        agency = AgencyFactory(name=f"Concurrency {uuid.uuid4().hex[:6]}")
        visitor = UserFactory(role="home_visitor", agency=agency)
        headers = sign_in_as(visitor)
        agency_id = agency.id
        yield live, headers, agency_id
        # Leave the shared database as the rolled-back tests expect it (audit events stay:
        # they are append-only, and name only these ids).
        families = select(Family.id).where(Family.agency_id == agency_id)
        for model in (Visit, Caregiver, Child, Assignment, Enrollment):
            db.session.execute(delete(model).where(model.family_id.in_(families)))
        db.session.execute(delete(Family).where(Family.agency_id == agency_id))
        staff = select(User.id).where(User.agency_id == agency_id)
        for model in (IdempotencyRecord, ApiToken, LoginSession, SyncState, AppliedChange):
            db.session.execute(delete(model).where(model.user_id.in_(staff)))
        db.session.execute(delete(SyncClock).where(SyncClock.agency_id == agency_id))
        db.session.execute(delete(User).where(User.agency_id == agency_id))
        db.session.execute(delete(Agency).where(Agency.id == agency_id))
        db.session.commit()
        db.engine.dispose()
    app.extensions["celery"].set_current()


def _in_parallel(*calls):
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


BODY = {
    "enrolled_on": "2026-01-05",
    "caregivers": [
        {"first_name": "Ada", "last_name": "Racer", "relationship": "mother", "primary": True}
    ],
}


def test_a_concurrent_repeat_of_an_idempotent_post_creates_one_family(committing_app):
    live, headers, agency_id = committing_app
    key = {"Idempotency-Key": f"tablet-{uuid.uuid4()}"}

    def post():
        response = ApiClient(live.test_client(), headers).post("/families", json=BODY, headers=key)
        return response.status_code, response.get_json()

    results = _in_parallel(post, post, post)
    statuses = {status for status, _ in results}
    ids = {body["id"] for status, body in results if status == 201}
    assert statuses <= {201, 409}, results
    assert len(ids) == 1, results
    with live.app_context():
        count = db.session.scalar(select(func.count()).where(Family.agency_id == agency_id))
    assert count == 1


def test_two_writers_on_one_version_never_both_win(committing_app):
    live, headers, _agency_id = committing_app
    api = ApiClient(live.test_client(), headers)
    family = api.post("/families", json=BODY).get_json()

    def patch(size):
        def call():
            response = ApiClient(live.test_client(), headers).patch(
                f"/families/{family['id']}",
                json={"household_size": size},
                headers={"If-Match": '"1"'},
            )
            return response.status_code

        return call

    results = _in_parallel(patch(3), patch(4))
    assert sorted(results) == [200, 412], results
    final = api.get(f"/families/{family['id']}").get_json()
    assert final["version"] == 2


def test_a_tablet_paging_while_others_write_misses_nothing_and_sees_nothing_twice(
    committing_app,
):
    """Writers commit visits while a tablet pulls in pages of 5: every visit arrives exactly
    once (the change number follows commit order, not insert order)."""
    live, headers, _agency_id = committing_app
    family = ApiClient(live.test_client(), headers).post("/families", json=BODY).get_json()
    stop = threading.Event()
    written: list[str] = []
    failures: list[str] = []

    def writer():
        api = ApiClient(live.test_client(), headers)
        while not stop.is_set():
            response = api.post(
                "/visits",
                json={
                    "family_id": family["id"],
                    "status": "scheduled",
                    "scheduled_for": "2026-12-01T15:00:00Z",
                },
            )
            if response.status_code != 201:  # an assert here would only warn: a thread's
                failures.append(response.get_data(as_text=True))
                return
            written.append(response.get_json()["id"])

    writers = [threading.Thread(target=writer) for _ in range(3)]
    for thread in writers:
        thread.start()
    tablet = ApiClient(live.test_client(), headers)
    seen: list[str] = []
    cursor = None
    try:
        for _ in range(60):
            body = {"device_id": "paging tablet", "changes": [], "limit": 5, "cursor": cursor}
            page = tablet.post("/sync", json=body).get_json()
            seen += [c["id"] for c in page["changes"] if c["entity"] == "visit"]
            cursor = page["cursor"]
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=30)
    while True:  # the writers have stopped: drain what is left
        body = {"device_id": "paging tablet", "changes": [], "limit": 5, "cursor": cursor}
        page = tablet.post("/sync", json=body).get_json()
        seen += [c["id"] for c in page["changes"] if c["entity"] == "visit"]
        cursor = page["cursor"]
        if not page["more"]:
            break
    assert failures == []
    assert len(written) > 20, "the writers should have raced the reader"
    assert len(seen) == len(set(seen)), "a visit was pulled twice"
    assert set(seen) == set(written), "a visit was skipped"


def test_two_tablets_pushing_one_new_visit_at_once_never_fail_the_batch(committing_app):
    """Both tablets created the same visit offline (one id), each beside a visit of its own;
    their batches race. New visits are written together, so the loser's write fails as a whole
    and is applied again change by change: one creation of the shared visit is applied, the
    other is not, each tablet's own visit is applied, and no request fails."""
    live, headers, _agency_id = committing_app
    family = ApiClient(live.test_client(), headers).post("/families", json=BODY).get_json()
    shared = str(uuid.uuid4())
    own = {45: str(uuid.uuid4()), 60: str(uuid.uuid4())}

    def visit(visit_id: str, minutes: int) -> dict:
        data = {
            "family_id": family["id"],
            "status": "completed",
            "started_at": "2026-01-06T15:00:00Z",
            "duration_minutes": minutes,
        }
        return {"entity": "visit", "op": "upsert", "id": visit_id, "data": data}

    def push(minutes):
        def call():
            changes = [visit(shared, minutes), visit(own[minutes], minutes)]
            body = {"device_id": f"tablet-{minutes}", "changes": changes}
            response = ApiClient(live.test_client(), headers).post("/sync", json=body)
            return response.status_code, [r["status"] for r in response.get_json()["results"]]

        return call

    results = _in_parallel(push(45), push(60))
    assert [status for status, _ in results] == [200, 200], results
    assert [outcomes[1] for _, outcomes in results] == ["applied", "applied"], results
    shared_outcomes = sorted(outcomes[0] for _, outcomes in results)
    assert shared_outcomes[0] == "applied"
    assert shared_outcomes[1] in ("applied", "conflict", "rejected")
    with live.app_context():
        ids = [uuid.UUID(shared), *(uuid.UUID(v) for v in own.values())]
        assert db.session.scalar(select(func.count()).where(Visit.id.in_(ids))) == 3
        # Every "applied" of the shared visit is one version of it: a creation, then (when the
        # other tablet's change was applied after it) an update; nothing else wrote it.
        stored = db.session.get(Visit, uuid.UUID(shared))
        assert stored.version == shared_outcomes.count("applied")


def test_a_member_edit_commits_while_another_writer_holds_its_family(committing_app):
    """A writer holding a family (a PUT of it, before its commit) does not hold up an edit of
    one of its caregivers: the edit's commit stamps the caregiver, whose foreign key to the
    family PostgreSQL checks again, and that check must not wait for the family's writer,
    who will want the agency's clock the edit holds (a deadlock, answered 503, until the
    family's lock let key checks through)."""
    live, headers, agency_id = committing_app
    api = ApiClient(live.test_client(), headers)
    family = api.post("/families", json=BODY).get_json()
    caregiver_id = family["caregivers"][0]["id"]
    held, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def hold_the_family() -> None:
        try:
            with live.test_request_context():
                user = db.session.scalar(select(User).where(User.agency_id == agency_id))
                record = locate(KINDS["family"], user, uuid.UUID(family["id"]), op="edit")
                held.set()
                release.wait(timeout=10)
                record.household_size = 6
                db.session.commit()
                outcome["family"] = "committed"
        except Exception as error:  # the test reports it
            outcome["family"] = repr(error)
            held.set()

    holder = threading.Thread(target=hold_the_family)
    holder.start()
    assert held.wait(timeout=30)
    started = time.monotonic()
    try:
        edit = api.patch(f"/caregivers/{caregiver_id}", json={"last_name": "Steady"})
    finally:
        waited = time.monotonic() - started
        release.set()
        holder.join(timeout=60)

    assert edit.status_code == 200, edit.get_json()
    assert waited < 5, f"the caregiver's edit waited {waited:.1f} s for the family's writer"
    assert outcome == {"family": "committed"}
    after = api.get(f"/families/{family['id']}").get_json()
    assert after["household_size"] == 6
    assert after["caregivers"][0]["last_name"] == "Steady"


def test_a_reassignment_waits_for_one_under_way_and_applies_on_it(committing_app):
    """A supervisor's reassignment is still committing (held 1 s) when another's arrives:
    the second waits for the first to commit and applies on it, version 3 on version 2 (a
    412 answers only a stale If-Match; it once answered this race)."""
    live, headers, agency_id = committing_app
    family = ApiClient(live.test_client(), headers).post("/families", json=BODY).get_json()
    with live.app_context():
        agency = db.session.get(Agency, agency_id)
        admin = UserFactory(role="agency_admin", agency=agency)
        tablets = {name: sign_in_as(admin, device_name=name) for name in ("slow", "fast")}
        visitors = [str(UserFactory(role="home_visitor", agency=agency).id) for _ in range(2)]
    replies: dict[str, tuple[int, dict]] = {}

    def assign(visitor_id: str) -> None:
        tablet = tablets[threading.current_thread().name]
        response = ApiClient(live.test_client(), tablet).post(
            f"/families/{family['id']}/assignment", json={"home_visitor_id": visitor_id}
        )
        replies[threading.current_thread().name] = (response.status_code, response.get_json())

    def hold_the_slow_commit(_session: Session) -> None:
        if threading.current_thread().name == "slow":
            time.sleep(1)

    event.listen(Session, "before_commit", hold_the_slow_commit)
    try:
        slow = threading.Thread(target=assign, args=(visitors[0],), name="slow")
        slow.start()
        time.sleep(0.3)  # the slow one holds the family by now
        fast = threading.Thread(target=assign, args=(visitors[1],), name="fast")
        fast.start()
        for thread in (slow, fast):
            thread.join(timeout=30)
    finally:
        event.remove(Session, "before_commit", hold_the_slow_commit)

    assert replies["slow"][0] == 200, replies
    assert replies["fast"][0] == 200, replies
    assert (replies["slow"][1]["version"], replies["fast"][1]["version"]) == (2, 3)
    with live.app_context():
        stored = db.session.get(Family, uuid.UUID(family["id"]))
        assert (stored.version, str(stored.home_visitor_id)) == (3, visitors[1])
        history = db.session.scalars(
            select(Assignment.home_visitor_id).where(Assignment.family_id == stored.id)
        ).all()
        assert {str(h) for h in history} >= set(visitors)
