"""Offline sync as it happens: the app served by gunicorn (several worker processes) on
PostgreSQL, writers changing one agency's families through the HTTP API while three tablets
pull in small pages.

What is asserted holds whatever the timings (API.md, Sync): after every response a tablet
holds no caregiver, child or visit without its family; and once the writers have stopped and
each tablet has pulled to the end, it holds exactly what a new device of the same user pulls
from nothing (same records, same versions, same data). ``pytest -s`` prints what each tablet
saw.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.visits.models import Visit
from tests.api import sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import AgencyFactory, CaregiverFactory, FamilyFactory, UserFactory
from tests.live import (
    LiveClient,
    LiveServer,
    Reply,
    committing_app,
    delete_agency,
    one_transaction,
    row_counts,
)
from tests.sync import hold

pytestmark = pytest.mark.postgres

WRITING_SECONDS = 5.0
# On a machine too slow to race in WRITING_SECONDS, writing goes on until every kind of write
# has been done MIN_WRITES times and every tablet has pulled MIN_PULLS times, or this long.
LONGEST_SECONDS = 10.0
MIN_WRITES = 3
MIN_PULLS = 5
WRITES_PER_WRITER = 400  # a bound on requests too, should the server be very fast
PULLS_PER_TABLET = 800
PAGE_SIZES = (3, 7)  # each pull asks for a limit in this range: families split over pages
FAMILIES = 24
MEMBERS = ("caregiver", "child", "visit")  # what is recorded for a family, by its family_id
Key = tuple[str, str]  # (entity, id): a record as a tablet holds it
# A family's writable family-level fields, sent back as read in a PUT (agency_id and
# home_visitor_id are left out: a PUT keeps them, and reassignment goes through /assignment).
FAMILY_FIELDS = (
    "enrolled_on",
    "referral_source",
    "preferred_language",
    "address",
    "phone",
    "email",
    "consent",
    "risk_factors",
    "household_size",
    "annual_income",
    "pregnancy",
)
CAREGIVER_FIELDS = (
    "id",
    "version",
    "last_name",
    "birth_date",
    "relationship",
    "primary",
    "education",
    "employment",
    "insurance",
)


# The agency -------------------------------------------------------------------------------


@pytest.fixture
def booting_server() -> Iterator[LiveServer]:
    """gunicorn with 3 workers, booting while ``agency`` makes the data (asked for first)."""
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: sync stress needs PostgreSQL")
    server = LiveServer(DATABASE_URL, workers=3)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def agency(app) -> Iterator[SimpleNamespace]:
    """An agency admin, 2 supervisors, 4 home visitors (2 each), 24 families of 2 caregivers
    and a child, committed for real; deleted afterwards, and the row counts of every table
    checked back to what they were. The committing app's context stays pushed meanwhile, for
    ``scope_now``. (``app``: the test database's schema is built.)"""
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: sync stress needs PostgreSQL")
    with committing_app(DATABASE_URL):
        before = row_counts()
        with one_transaction():
            world = _make_agency()
        try:
            yield world
        finally:
            db.session.rollback()
            delete_agency(world.agency_id)
            after = row_counts()
    changed = {name: after[name] - before[name] for name in after if after[name] != before[name]}
    assert not changed, f"rows left behind (or lost), by table: {changed}"


def _make_agency() -> SimpleNamespace:
    tag = uuid.uuid4().hex[:8]
    agency = AgencyFactory(name=f"Sync stress {tag}")

    def staff(role: str, name: str, **fields: Any) -> Any:
        return UserFactory(
            role=role, agency=agency, email=f"stress-{tag}-{name}@example.org", **fields
        )

    admin = staff("agency_admin", "admin")
    supervisors = [staff("supervisor", f"sup{i}") for i in range(2)]
    visitors = [
        staff("home_visitor", f"hv{i}", supervisor_id=supervisors[i % 2].id) for i in range(4)
    ]
    families = [
        FamilyFactory(home_visitor=visitors[index % len(visitors)], children=1)
        for index in range(FAMILIES)
    ]
    for family in families:
        CaregiverFactory(family=family, relationship_to_child="father")
    family_ids = [family.id for family in families]
    caregivers = db.session.scalars(select(Caregiver.id).where(Caregiver.family_id.in_(family_ids)))
    return SimpleNamespace(
        agency_id=agency.id,
        admin=str(admin.id),
        supervisors=[str(s.id) for s in supervisors],
        visitors=[str(v.id) for v in visitors],
        families=[str(i) for i in family_ids],
        caregivers=[str(i) for i in caregivers],
        headers={
            str(user.id): sign_in_as(user, device_name="stress test")
            for user in (admin, supervisors[0], visitors[0])
        },
    )


def scope_now(user_id: str) -> dict[Key, int]:
    """What the user's scope holds now, as the database says (API.md, Roles and scope), and
    each record's version: the families assigned to them (a supervisor: also to the home
    visitors they supervise; an agency admin: all of the agency's), with their caregivers,
    children and visits."""
    db.session.expire_all()
    user = db.session.get(User, uuid.UUID(user_id))
    families = select(Family).where(Family.agency_id == user.agency_id, Family.voided_at.is_(None))
    if user.role == "home_visitor":
        families = families.where(Family.home_visitor_id == user.id)
    elif user.role == "supervisor":
        supervised = select(User.id).where(User.supervisor_id == user.id)
        families = families.where(
            (Family.home_visitor_id == user.id) | Family.home_visitor_id.in_(supervised)
        )
    held = {("family", str(f.id)): f.version for f in db.session.scalars(families)}
    family_ids = [uuid.UUID(record_id) for _entity, record_id in held]
    for entity, model in (("caregiver", Caregiver), ("child", Child), ("visit", Visit)):
        records = select(model).where(model.family_id.in_(family_ids), model.voided_at.is_(None))
        held.update({(entity, str(r.id)): r.version for r in db.session.scalars(records)})
    db.session.rollback()
    return held


# The writers ------------------------------------------------------------------------------


@dataclass
class Run:
    """What the threads share: whether to go on writing, what was done, what went wrong."""

    tablets: list[Tablet]
    started: float = field(default_factory=time.monotonic)
    writers_done: threading.Event = field(default_factory=threading.Event)
    done: Counter = field(default_factory=Counter)  # writes applied, by kind
    requests: Counter = field(default_factory=Counter)  # requests sent, by kind
    seconds: Counter = field(default_factory=Counter)  # time they took, by kind
    failures: list[str] = field(default_factory=list)

    def writing(self) -> bool:
        """For WRITING_SECONDS; then, on a machine too slow to race in that time, on until
        every kind of write and every tablet has done a few (never past LONGEST_SECONDS)."""
        elapsed = time.monotonic() - self.started
        if elapsed < WRITING_SECONDS:
            return True
        return elapsed < LONGEST_SECONDS and not self.raced()

    def raced(self) -> bool:
        return all(self.done[kind] >= MIN_WRITES for kind in WRITE_KINDS) and all(
            tablet.responses >= MIN_PULLS for tablet in self.tablets
        )

    def send(self, kind: str, method: Callable[..., Reply], path: str, **kwargs: Any) -> Reply:
        """``method(path, **kwargs)`` (``api.put``, say), timed and counted as ``kind``."""
        began = time.monotonic()
        reply = method(path, **kwargs)
        self.requests[kind] += 1  # each kind is sent by one thread only: no lost increment
        self.seconds[kind] += time.monotonic() - began
        return reply

    def unexpected(self, what: str, reply: Reply) -> None:
        self.failures.append(f"{what}: {reply.status} {reply.text()[:300]}")


def _yesterday() -> str:
    return (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()


def edit_families(run: Run, api: LiveClient, agency: SimpleNamespace, rng: random.Random) -> None:
    """Read a family, then PUT it back with other family-level values and renamed caregivers,
    on the versions read (If-Match, and each caregiver's ``version``): a 412 means another
    writer came first, and the next round reads again."""
    for round_ in range(WRITES_PER_WRITER // 2):
        if not run.writing():
            return
        family_id = rng.choice(agency.families)
        reply = run.send("GET family", api.get, f"/families/{family_id}")
        if reply.status != 200:
            return run.unexpected("GET family", reply)
        family = reply.json()
        body = {name: family[name] for name in FAMILY_FIELDS}
        body["household_size"] = rng.choice(
            [n for n in range(2, 10) if n != family["household_size"]]
        )
        body["caregivers"] = [
            {
                **{name: caregiver[name] for name in CAREGIVER_FIELDS},
                "first_name": f"Edit{round_}-{index}",
            }
            for index, caregiver in enumerate(family["caregivers"])
        ]
        etag = {"If-Match": f'"{family["version"]}"'}
        reply = run.send("PUT family", api.put, f"/families/{family_id}", json=body, headers=etag)
        if reply.status == 200:
            run.done["family edits"] += 1
        elif reply.status == 412:
            run.done["family edits answered 412"] += 1
        else:
            return run.unexpected("PUT family", reply)


def record_visits_and_caregivers(
    run: Run, api: LiveClient, agency: SimpleNamespace, rng: random.Random
) -> None:
    """New completed visits, and caregivers renamed on their own (PATCH without If-Match)."""
    for round_ in range(WRITES_PER_WRITER):
        if not run.writing():
            return
        if round_ % 2 == 0:
            body = {
                "family_id": rng.choice(agency.families),
                "home_visitor_id": rng.choice(agency.visitors),
                "status": "completed",
                "started_at": _yesterday(),
                "duration_minutes": 60,
            }
            reply = run.send("POST visit", api.post, "/visits", json=body)
            if reply.status != 201:
                return run.unexpected("POST visit", reply)
            run.done["new visits"] += 1
        else:
            path = f"/caregivers/{rng.choice(agency.caregivers)}"
            name = {"first_name": f"Own{round_}"}
            reply = run.send("PATCH caregiver", api.patch, path, json=name)
            if reply.status != 200:
                return run.unexpected("PATCH caregiver", reply)
            run.done["caregiver edits"] += 1


def reassign_families(
    run: Run, api: LiveClient, agency: SimpleNamespace, rng: random.Random
) -> None:
    """A family handed to another home visitor: it leaves one tablet and enters another."""
    for _ in range(WRITES_PER_WRITER):
        if not run.writing():
            return
        path = f"/families/{rng.choice(agency.families)}/assignment"
        body = {"home_visitor_id": rng.choice(agency.visitors), "note": "stress"}
        reply = run.send("POST assignment", api.post, path, json=body)
        if reply.status != 200:
            return run.unexpected("POST assignment", reply)
        run.done["reassignments"] += 1


def change_supervisors(
    run: Run, api: LiveClient, agency: SimpleNamespace, rng: random.Random
) -> None:
    """A home visitor given to a supervisor (often the other one): all their families leave
    one supervisor's tablet and enter the other's, though no family changed."""
    for _ in range(WRITES_PER_WRITER):
        if not run.writing():
            return
        path = f"/users/{rng.choice(agency.visitors)}"
        body = {"supervisor_id": rng.choice(agency.supervisors)}
        reply = run.send("PATCH user", api.patch, path, json=body)
        if reply.status != 200:
            return run.unexpected("PATCH user", reply)
        run.done["supervisor changes"] += 1


WRITERS = (edit_families, record_visits_and_caregivers, reassign_families, change_supervisors)
WRITE_KINDS = (
    "family edits",
    "new visits",
    "caregiver edits",
    "reassignments",
    "supervisor changes",
)


# The tablets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Orphan:
    response: int  # the tablet's response after which it was held
    entity: str
    id: str
    family_id: str


class Tablet:
    """A device of one user: pulls (no changes pushed) and applies each answer to what it
    holds, keyed by (entity, id): data replaces, ``voided`` and ``removed`` drop."""

    def __init__(self, name: str, api: LiveClient) -> None:
        self.name = name
        self.api = api
        self.device_id = f"{name} {uuid.uuid4().hex[:8]}"
        self.held: dict[Key, dict[str, Any]] = {}
        self.cursor: str | None = None
        self.responses = 0
        self.changes = 0
        self.seconds = 0.0
        self.orphans: list[Orphan] = []

    def pull(self, limit: int) -> bool:
        """One POST /sync; whether there is more. Raises on any answer but 200."""
        body: dict[str, Any] = {"device_id": self.device_id, "changes": [], "limit": limit}
        if self.cursor is not None:
            body["cursor"] = self.cursor
        began = time.monotonic()
        reply = self.api.post("/sync", json=body)
        self.seconds += time.monotonic() - began
        if reply.status != 200:
            raise AssertionError(f"{self.name}: /sync answered {reply.status} {reply.text()[:300]}")
        answer = reply.json()
        for change in answer["changes"]:
            self.apply(change)
        self.cursor = answer["cursor"]
        self.responses += 1
        self.changes += len(answer["changes"])
        self.check()
        return answer["more"]

    def pull_to_the_end(self, limit: int) -> None:
        while self.pull(limit):
            pass

    def apply(self, change: dict[str, Any]) -> None:
        hold(self.held, change)

    def check(self) -> None:
        """No caregiver, child or visit without its family, now."""
        for (entity, record_id), record in self.held.items():
            if entity not in MEMBERS:
                continue
            family_id = record["data"]["family_id"]
            if ("family", family_id) not in self.held:
                self.orphans.append(Orphan(self.responses, entity, record_id, family_id))

    def orphan_summary(self) -> str:
        if not self.orphans:
            return "none"
        responses = len({orphan.response for orphan in self.orphans})
        distinct = Counter(entity for entity, _id in {(o.entity, o.id) for o in self.orphans})
        kinds = ", ".join(f"{n} {entity}" for entity, n in sorted(distinct.items()))
        return f"after {responses} of {self.responses} responses: {kinds}"


def run_tablet(run: Run, tablet: Tablet, rng: random.Random) -> None:
    """Pull in small pages while the writers write: a walk to ``more: false``, then the next
    from its cursor, and so on."""
    while not run.writers_done.is_set() and tablet.responses < PULLS_PER_TABLET:
        tablet.pull(rng.randint(*PAGE_SIZES))


Found = dict[str, dict[str, list[str]]]  # entity -> kind of difference -> ids


def differences(held: dict[Key, dict], fresh: dict[Key, dict]) -> Found:
    """By entity, the ids of the records missing from the tablet, extra on it, held at
    another version ("stale"), and held at the same version with other data."""
    found: Found = {}
    for key in sorted(held.keys() | fresh.keys()):
        if key not in held:
            kind = "missing"
        elif key not in fresh:
            kind = "extra"
        elif held[key]["version"] != fresh[key]["version"]:
            kind = "stale"
        elif held[key]["data"] != fresh[key]["data"]:
            kind = "other data at the same version"
        else:
            continue
        found.setdefault(key[0], {}).setdefault(kind, []).append(key[1])
    return found


def describe(found: Found, *, examples: bool = False) -> str:
    """``family: 2 missing, 1 stale; visit: 1 extra``, with the first id of each when asked."""
    if not found:
        return "none"
    return "; ".join(
        f"{entity}: "
        + ", ".join(
            f"{len(ids)} {kind}" + (f" (the first {ids[0]})" if examples else "")
            for kind, ids in sorted(kinds.items())
        )
        for entity, kinds in sorted(found.items())
    )


# The test ---------------------------------------------------------------------------------


def _thread(run: Run, name: str, target: Callable, *args: Any) -> threading.Thread:
    def body() -> None:
        try:
            target(*args)
        except Exception as error:  # an assert in a thread would only warn: kept for the end
            run.failures.append(f"{name}: {error!r}")

    return threading.Thread(target=body, name=name, daemon=True)


def test_tablets_paging_while_families_move_end_as_a_new_device_with_no_orphan_on_the_way(
    booting_server, agency
):
    url = booting_server.ready()
    users = {
        "home visitor": agency.visitors[0],
        "supervisor": agency.supervisors[0],
        "agency admin": agency.admin,
    }
    tablets = {
        name: Tablet(name, LiveClient(url, agency.headers[user_id]))
        for name, user_id in users.items()
    }
    run = Run(tablets=list(tablets.values()))
    admin = agency.headers[agency.admin]
    threads = [
        _thread(run, name, run_tablet, run, tablet, random.Random(100 + index))
        for index, (name, tablet) in enumerate(tablets.items())
    ] + [
        _thread(run, writer.__name__, writer, run, LiveClient(url, admin), agency, random.Random(i))
        for i, writer in enumerate(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads[len(tablets) :]:
        thread.join(timeout=LONGEST_SECONDS + 60)
    writing = time.monotonic() - run.started
    run.writers_done.set()
    for thread in threads[: len(tablets)]:
        thread.join(timeout=60)

    # Nothing is written any more: each tablet pulls to the end, then a new device of its
    # user pulls everything from nothing (in one page if it can).
    problems = [f"failed: {failure}" for failure in run.failures]
    report = [
        f"{writing:.1f} s of writing: "
        + ", ".join(f"{run.done[kind]} {kind}" for kind in sorted(run.done))
        + "; ms a request: "
        + ", ".join(
            f"{kind} {1000 * run.seconds[kind] / run.requests[kind]:.0f}"
            for kind in sorted(run.requests)
        )
    ]
    for name, user_id in users.items():
        tablet = tablets[name]
        fresh = Tablet(f"{name} (new device)", LiveClient(url, agency.headers[user_id]))
        try:
            tablet.pull_to_the_end(PAGE_SIZES[1])
            fresh.pull_to_the_end(1000)
        except AssertionError as error:
            problems.append(str(error))
            continue
        found = differences(tablet.held, fresh.held)
        # The new device is the reference: it must hold the user's scope as it is now.
        now = {key: {"version": v, "data": None} for key, v in scope_now(user_id).items()}
        pulled = {key: {"version": r["version"], "data": None} for key, r in fresh.held.items()}
        if wrong := differences(pulled, now):
            problems.append(
                f"{name} new device differs from the database: {describe(wrong, examples=True)}"
            )
        report.append(
            f"{name} tablet: {tablet.responses} responses "
            f"({1000 * tablet.seconds / tablet.responses:.0f} ms each), {tablet.changes} changes, "
            f"holds {len(tablet.held)} records (a new device {len(fresh.held)}); "
            f"orphans {tablet.orphan_summary()}; differences from a new device: {describe(found)}"
        )
        if tablet.orphans:
            problems.append(
                f"{name} tablet held records without their family {tablet.orphan_summary()}; "
                f"the first: {tablet.orphans[0]}"
            )
        if fresh.orphans:
            problems.append(f"{name} new device held orphans {fresh.orphan_summary()}")
        if found:
            problems.append(
                f"{name} tablet differs from a new device: {describe(found, examples=True)}"
            )
    print("\n" + "\n".join(report))

    assert run.raced(), "too few writes or pulls to race each other:\n" + "\n".join(report)
    assert not problems, "\n".join([*problems, "", *report])
