"""The sync benchmark: tablets pushing and pulling through ``POST /api/v1/sync``.

``python -m bench`` runs it after the family list; ``python -m bench.sync`` runs it alone (and
seeds first when the data set is not there). Every request goes through the whole app
in-process, as the family list's do: Flask's test client, a bearer token, the sign-in guard,
the one transaction (a savepoint for each change, one for a run of new visits), the sync
clock's stamp at commit, the audit events.

- (a) A tablet pushes 50-change batches: 42 visits logged after the fact (completed, with
  participants and topics), 2 visits booked ahead, 4 corrections of visits with
  ``base_version`` (2 it pulled, 2 it pushed earlier), a family edit and a caregiver edit, each
  carrying the version it was made on. Every batch carries the tablet's cursor, as a tablet's
  does, so it also pulls what changed since its last sync. Every change must come back
  ``applied``.
  Target (DESIGN.md): under 150 ms median. Baseline: the same 50 visit rows inserted raw, with
  Core ``insert()`` executemany in one transaction, interleaved with the batches in blocks of
  10.
- (b) Throughput: 4 tablets of 4 home visitors (agencies 2 to 5) push 50-visit batches for
  10 s at once, each in a process of its own with its own app (as gunicorn's worker processes
  would serve them), and again as 4 threads sharing one app (one interpreter: the GIL lets one
  thread run Python at a time). Target: at least 1,000 visit changes a second, with the
  processes. Baseline: as many visit rows inserted raw at once.
- (c) A slow commit in one agency: the 4 tablet processes of (b) push 50-visit batches while,
  in a fifth process with its own app, a transaction of the first tablet's agency changes one
  of its visits through the ORM and holds its commit for 1 s, again and again. It holds it in
  a ``before_commit`` listener registered on its session, which SQLAlchemy runs after the
  app's own (registered on the Session class), so the transaction keeps whatever the app's
  commit locked (the sync clock's stamp among them) while it waits. Time alternates between
  stretches without and with the slow transaction (5 s each, 10 s of each in all). Printed:
  the median batch time of the three other agencies' tablets with and without it (the one
  without is the baseline) and their ratio. Target (DESIGN.md, "one agency's slow commit never
  stalls another agency's writers"): within 2×. The ratio shrinks as a busy machine makes
  every batch slower, so also printed: the share of their batches that ended just after (within
  100 ms of) a held commit's end, against the share chance gives; far above it, they waited.
- (d) A supervisor's first full pull and (e) an agency admin's (agency 6, which no other
  scenario writes to: a supervisor of about 400 families, else the one with the most; the
  admin's 1,100): ``POST /sync`` with no cursor and ``limit`` 1000, page after page until
  ``more`` is false, each walk with a new ``device_id``. Records pulled, pages, seconds and
  records a second, the median of 3 walks (fewer when a scenario has taken a minute: no new
  walk starts then; of an even number, the faster middle one). Target (DESIGN.md): at least
  10,000 records a second. Baseline: the same families' records (families, caregivers,
  children, visits, screenings, observations) read raw with Core.
- (f) The tablet of (a): its first full pull (no cursor, 500 a page; median of 3), held to the
  same 10,000 a second, and an incremental pull after one batch pushed from another device of
  the same user (a device is not sent back its own changes; median of 20).

The visits the benchmark creates are deleted at the end, so that a run with
``HVCASE_BENCH_SKIP_SEED=1`` measures the same data set as the one before it.

Choosing scenarios: ``HVCASE_BENCH_SYNC_SCENARIOS`` (letters, e.g. ``cde`` or ``c,d,e``; all
by default), or the letters as arguments, ``python -m bench.sync c d e``. (a) and (f) share
the tablet's first pulls.

Environment: ``HVCASE_BENCH_SYNC_RUNS`` (timed batches of (a), 100),
``HVCASE_BENCH_SYNC_SECONDS`` (duration of (b), 10), ``HVCASE_BENCH_SLOW_SECONDS`` (time of
(c) without, and again with, the slow transaction, 10), ``HVCASE_BENCH_PULL_RUNS`` (walks of
(d) and (e), 3), ``HVCASE_BENCH_PULL_BUDGET`` (seconds after which (d) or (e) starts no new
walk, 60).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import Uuid, bindparam, delete, event, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from bench import SqlMeter, bearer_for, bench_database_url, ensure_database, make_app
from bench.seed import admin_email, seed, seeded, visitor_email
from hvcase.auth.models import User
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families import codes as family_codes
from hvcase.families.models import Caregiver, Child, Family
from hvcase.screenings.models import Observation, Screening
from hvcase.sync.entities import ENTITIES
from hvcase.visits import codes as visit_codes
from hvcase.visits.models import Visit

SYNC = "/api/v1/sync"
WARMUP = 5
RUNS = int(os.environ.get("HVCASE_BENCH_SYNC_RUNS", "100"))
SECONDS = float(os.environ.get("HVCASE_BENCH_SYNC_SECONDS", "10"))
BLOCK = 10
BATCH = 50
# (a)'s mix of a batch: new completed visits, booked visits, visit corrections (pulled ones,
# then the tablet's own), family edits, caregiver edits.
MIX = {
    "logged": 42,
    "booked": 2,
    "corrected_pulled": 2,
    "corrected_own": 2,
    "family": 1,
    "caregiver": 1,
}
assert sum(MIX.values()) == BATCH
CLIENTS = 4
PULL_LIMIT = 500
FULL_PULLS = 3
INCREMENTAL_PULLS = 20
BATCH_TARGET_MS = 150.0
THROUGHPUT_TARGET = 1_000.0
# The tablets: agency 1's home visitor 2 for (a) and (f) (the family list times visitor 1),
# home visitor 1 of agencies 2 to 5 for (b) and (c).
TABLET = (1, 2)
CLIENT_VISITORS = [(agency, 1) for agency in range(2, 2 + CLIENTS)]
SHUFFLE_SEED = 42
SCENARIOS = "abcdef"
# (c): the slow transaction is in the first tablet's agency; it changes a visit of that
# agency's home visitor 2 (not the tablet's own families).
SLOW_SECONDS = float(os.environ.get("HVCASE_BENCH_SLOW_SECONDS", "10"))
SLOW_STRETCHES = 2  # stretches of each kind, alternating: without, with, without, with
HOLD_SECONDS = 1.0
AFTER_HOLD = 0.1  # a batch that ends this soon after a held commit ended had waited for it
SLOW_TARGET = 2.0
# (d) and (e): first full pulls in an agency no scenario writes to.
PULL_AGENCY = 6
PULL_PAGE = 1_000
PULL_RUNS = int(os.environ.get("HVCASE_BENCH_PULL_RUNS", "3"))
PULL_BUDGET = float(os.environ.get("HVCASE_BENCH_PULL_BUDGET", "60"))
PULL_TARGET = 10_000.0
SUPERVISOR_FAMILIES = 400


# A tablet ------------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    return moment.isoformat()


@dataclass
class Record:
    version: int
    data: dict[str, Any]


@dataclass
class Tablet:
    """A home visitor's tablet: what it pulled, its cursor, and the changes it makes."""

    client: Any
    headers: dict[str, str]
    device: str
    seed: int = 0
    cursor: str | None = None
    records: dict[str, dict[str, Record]] = field(
        default_factory=lambda: {name: {} for name in ENTITIES}
    )
    rng: random.Random = field(init=False)
    own_visits: deque = field(default_factory=lambda: deque(maxlen=500))
    pulled_visits: deque = field(default_factory=deque)
    families: deque = field(default_factory=deque)
    caregivers: deque = field(default_factory=deque)
    participants: dict[str, str] = field(default_factory=dict)  # family id: primary caregiver

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # Talking to the server

    def post(self, changes: list[dict[str, Any]], cursor: str | None) -> tuple[float, dict]:
        """One request; (its time in ms, the answer). The body is encoded and the answer
        decoded outside the timing, as a tablet's own work."""
        body: dict[str, Any] = {"device_id": self.device, "changes": changes, "limit": PULL_LIMIT}
        if cursor is not None:
            body["cursor"] = cursor
        encoded = json.dumps(body)
        started = time.perf_counter()
        response = self.client.post(
            SYNC, data=encoded, content_type="application/json", headers=self.headers
        )
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(
                f"{self.device}: /sync answered {response.status_code}:"
                f" {response.get_data(as_text=True)[:500]}"
            )
        return took, response.get_json()

    def push(self, changes: list[dict[str, Any]]) -> tuple[float, dict]:
        """A batch with the tablet's cursor; every change must be applied."""
        took, answer = self.post(changes, self.cursor)
        sent = {change["id"]: change for change in changes}
        refused = [r for r in answer["results"] if r["status"] != "applied"]
        if refused:
            change = sent[refused[0]["id"]]
            raise SystemExit(
                f"{self.device}: {len(refused)} of {len(changes)} changes not applied; the"
                f" first: {json.dumps(refused[0])[:600]} for {json.dumps(change)[:600]}"
            )
        for result in answer["results"]:
            change = sent[result["id"]]
            known = self.records[change["entity"]]
            known[change["id"]] = Record(result["version"], change["data"])
        self.learn(answer)
        return took, answer

    def pull_all(self) -> tuple[float, int, int]:
        """A first pull, page after page: (total ms, pages, changes)."""
        self.cursor = None
        total, pages, changes = 0.0, 0, 0
        while True:
            took, answer = self.post([], self.cursor)
            total += took
            pages += 1
            changes += len(answer["changes"])
            self.learn(answer)
            if not answer["more"]:
                break
        self.index()
        return total, pages, changes

    def learn(self, answer: dict[str, Any]) -> None:
        for change in answer["changes"]:
            known = self.records[change["entity"]]
            if "data" in change:
                known[change["id"]] = Record(change["version"], change["data"])
            else:  # voided or removed: not edited again
                known.pop(change["id"], None)
        self.cursor = answer["cursor"]

    def index(self) -> None:
        """What the tablet will visit and correct: its enrolled families (with their primary
        caregiver) and the completed visits of the last 60 days."""
        enrolled = {
            family_id
            for family_id, record in self.records["family"].items()
            if record.data["status"] == "enrolled"
        }
        self.participants = {
            record.data["family_id"]: caregiver_id
            for caregiver_id, record in sorted(self.records["caregiver"].items())
            if record.data["primary"] and record.data["family_id"] in enrolled
        }
        self.families = deque(sorted(self.participants))
        self.caregivers = deque(sorted(self.participants.values()))
        recent = stamp(utcnow() - timedelta(days=60))
        self.pulled_visits = deque(
            sorted(
                visit_id
                for visit_id, record in self.records["visit"].items()
                if record.data["status"] == "completed"
                and record.data["started_at"] >= recent
                and record.data["family_id"] in enrolled
            )
        )
        if not self.families or len(self.pulled_visits) < MIX["corrected_pulled"]:
            raise SystemExit(f"{self.device}: too few families or visits to sync.")

    # Changes

    def next_id(self) -> str:
        """A new record's id: random, never the id of an earlier run's record."""
        return str(uuid.uuid4())

    def visit_data(self, family_id: str, *, booked: bool = False) -> dict[str, Any]:
        """A visit as the tablet records it: logged after the fact, or booked ahead."""
        rng = self.rng
        now = utcnow().replace(microsecond=0)
        if booked:
            return {
                "family_id": family_id,
                "status": "scheduled",
                "scheduled_for": stamp(now + timedelta(days=rng.randint(1, 28), hours=1)),
                "location": "home",
                "participants": [self.participants[family_id]],
            }
        started = now - timedelta(hours=rng.randint(2, 96), minutes=rng.randrange(60))
        return {
            "family_id": family_id,
            "status": "completed",
            "started_at": stamp(started),
            "duration_minutes": rng.choice((45, 60, 60, 75, 90)),
            "location": rng.choice(("home", "home", "home", "virtual")),
            "participants": [self.participants[family_id]],
            "topics": sorted(rng.sample(visit_codes.TOPICS, rng.randint(1, 4))),
            "notes": "Logged offline." if rng.random() < 0.3 else None,
        }

    def next_family(self) -> str:
        self.families.rotate(-1)
        return self.families[0]

    def new_visit(self, *, booked: bool = False) -> dict[str, Any]:
        return upsert("visit", self.next_id(), self.visit_data(self.next_family(), booked=booked))

    def correction(self, visit_ids: deque) -> dict[str, Any]:
        visit_ids.rotate(-1)
        visit_id = visit_ids[0]
        record = self.records["visit"][visit_id]
        data = {**record.data, "notes": f"Corrected on the tablet ({uuid.uuid4().hex[:8]})."}
        return upsert("visit", visit_id, data, record.version)

    def family_edit(self) -> dict[str, Any]:
        self.families.rotate(-1)
        family_id = self.families[0]
        record = self.records["family"][family_id]
        data = {k: v for k, v in record.data.items() if k not in ("caregivers", "children")}
        while data["phone"] == record.data["phone"]:  # a change, whatever an earlier run left
            data["phone"] = f"+1612{self.rng.randrange(2_000_000, 9_999_999)}"
        return upsert("family", family_id, data, record.version)

    def caregiver_edit(self) -> dict[str, Any]:
        self.caregivers.rotate(-1)
        caregiver_id = self.caregivers[0]
        record = self.records["caregiver"][caregiver_id]
        others = [e for e in family_codes.EMPLOYMENT if e != record.data["employment"]]
        data = {**record.data, "employment": self.rng.choice(others)}
        return upsert("caregiver", caregiver_id, data, record.version)

    def mixed_batch(self) -> list[dict[str, Any]]:
        """(a)'s batch of ``MIX``: corrections of the tablet's own visits once it has some."""
        own = deque(self.own_visits)
        changes = [self.new_visit() for _ in range(MIX["logged"])]
        changes += [self.new_visit(booked=True) for _ in range(MIX["booked"])]
        pulled = MIX["corrected_pulled"] + (MIX["corrected_own"] if len(own) < 10 else 0)
        changes += [self.correction(self.pulled_visits) for _ in range(pulled)]
        if len(own) >= 10:
            changes += [self.correction(own) for _ in range(MIX["corrected_own"])]
        changes += [self.family_edit() for _ in range(MIX["family"])]
        changes += [self.caregiver_edit() for _ in range(MIX["caregiver"])]
        self.own_visits.extend(c["id"] for c in changes[: MIX["logged"]])
        return changes

    def visit_batch(self) -> list[dict[str, Any]]:
        """(b)'s batch: 50 visits logged after the fact."""
        return [self.new_visit() for _ in range(BATCH)]

    def visit_rows(self, count: int, home_visitor_id: str) -> list[dict[str, Any]]:
        """``count`` visits like the batches', as rows for a raw insert (the baseline)."""
        rows = []
        for _ in range(count):
            data = self.visit_data(self.next_family())
            started = datetime.fromisoformat(data["started_at"])
            now = utcnow()
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "family_id": uuid.UUID(data["family_id"]),
                    "home_visitor_id": uuid.UUID(home_visitor_id),
                    "status": "completed",
                    "scheduled_for": None,
                    "started_at": started,
                    "ended_at": started + timedelta(minutes=data["duration_minutes"]),
                    "duration_minutes": data["duration_minutes"],
                    "occurs_at": started,
                    "location": data["location"],
                    "participants": data["participants"],
                    "topics": data["topics"],
                    "missed_reason": None,
                    "notes": data["notes"],
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "voided_at": None,
                    "void_reason": None,
                    "change_seq": 0,
                }
            )
        return rows

    def home_visitor_id(self) -> str:
        return next(iter(self.records["family"].values())).data["home_visitor_id"]


def upsert(entity: str, record_id: str, data: dict, base_version: int | None = None) -> dict:
    change: dict[str, Any] = {"entity": entity, "op": "upsert", "id": record_id, "data": data}
    if base_version is not None:
        change["base_version"] = base_version
    return change


def raw_insert(app: Flask, rows: list[dict[str, Any]]) -> float:
    """The baseline: the rows inserted with Core executemany in one transaction; ms."""
    with app.app_context():
        started = time.perf_counter()
        with db.engine.begin() as connection:
            connection.execute(insert(Visit.__table__), rows)
        return (time.perf_counter() - started) * 1000


# (b) and (c): concurrent tablets --------------------------------------------------------


@dataclass
class Pushed:
    """What one concurrent tablet did in one stretch of time."""

    visits: int
    started: float  # time.monotonic(), the same clock in every process
    finished: float
    times_ms: list[float]
    ends: list[float] = field(default_factory=list)  # each batch's, time.monotonic()


def push_for(
    app: Flask, headers: dict[str, str], device: str, stretches: list[float], barrier
) -> list[Pushed]:
    """Pull, warm up, then for each stretch: wait for the others, push 50-visit batches for
    its seconds (a batch started in time is finished, and counted, after it)."""
    tablet = Tablet(app.test_client(), headers, fresh_device(device), seed=sum(map(ord, device)))
    tablet.pull_all()
    for _ in range(2):
        tablet.push(tablet.visit_batch())
    done = []
    for seconds in stretches:
        barrier.wait()
        times: list[float] = []
        ends: list[float] = []
        visits = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            took, answer = tablet.push(tablet.visit_batch())
            ends.append(time.monotonic())
            times.append(took)
            visits += len(answer["results"])
        done.append(Pushed(visits, started, time.monotonic(), times, ends))
    return done


def fresh_device(name: str) -> str:
    """A device id never seen before, so that a pull from no cursor is a first pull."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


@dataclass
class Held:
    """What (c)'s slow transaction did: each of its commits, in ms, and when each ended."""

    commits_ms: list[float]
    ends: list[float]  # time.monotonic()
    visit_id: str


HOLDING = "bench_hold"  # session.info: hold this commit
LISTENING = "bench_hold_listener"  # session.info: the session has the listener


def _hold_commit(session: Session) -> None:
    """Sleep in the commit, once the app's own ``before_commit`` work is done.

    Registered on the session instance: SQLAlchemy runs the listeners registered on the
    Session class (the app's, the sync clock's stamp among them) before a session's own, each
    kind in the order they were registered. So the transaction has taken whatever locks the
    app's commit takes, and holds them while it sleeps, whatever the clock is made of."""
    if session.info.pop(HOLDING, False):
        time.sleep(HOLD_SECONDS)


def hold_commits(app: Flask, email: str, plan: list[tuple[float, bool]], barrier) -> Held:
    """For each stretch of ``plan`` (seconds, hold?): wait for the tablets; in a stretch that
    holds, change a visit of the home visitor ``email``'s agency again and again, through the
    ORM and the app's commit, each commit held for ``HOLD_SECONDS``."""
    commits: list[float] = []
    ends: list[float] = []
    with app.app_context():
        visit_id = db.session.scalar(
            select(Visit.id)
            .join(Family, Family.id == Visit.family_id)
            .join(User, User.id == Family.home_visitor_id)
            .where(User.email == email, Visit.voided_at.is_(None))
            .order_by(Visit.id)
            .limit(1)
        )
        if visit_id is None:
            raise SystemExit(f"No visit of {email} to hold a commit with.")
        db.session.rollback()
        for seconds, holding in plan:
            barrier.wait()
            started = time.monotonic()
            while holding and time.monotonic() - started < seconds:
                session = db.session()
                if not session.info.get(LISTENING):
                    event.listen(session, "before_commit", _hold_commit)
                    session.info[LISTENING] = True
                visit = session.get(Visit, visit_id)
                visit.notes = f"Held commit ({uuid.uuid4().hex[:8]})."
                session.info[HOLDING] = True
                committing = time.perf_counter()
                session.commit()
                commits.append((time.perf_counter() - committing) * 1000)
                ends.append(time.monotonic())
    return Held(commits, ends, str(visit_id))


def _client_process(
    url: str, headers: dict[str, str], device: str, stretches: list[float], barrier, out, n: int
) -> None:
    """A process's tablet, with an app of its own (a spawned process shares nothing)."""
    try:
        out.put((n, push_for(make_app(url), headers, device, stretches, barrier)))
    except BaseException as error:  # the parent must not wait for a result that never comes
        barrier.abort()
        out.put((n, error if isinstance(error, Exception) else RuntimeError(repr(error))))
        raise


def _holder_process(url: str, email: str, plan: list[tuple[float, bool]], barrier, out, n: int):
    try:
        out.put((n, hold_commits(make_app(url), email, plan, barrier)))
    except BaseException as error:
        barrier.abort()
        out.put((n, error if isinstance(error, Exception) else RuntimeError(repr(error))))
        raise


def in_processes(
    url: str,
    headers: list[dict[str, str]],
    stretches: list[float],
    holder: tuple[str, list[bool]] | None = None,
    device: str = "bench-process",
) -> tuple[list[list[Pushed]], Held | None]:
    """Each tablet in a process of its own, in ``stretches`` of time; with ``holder`` (the
    email of a home visitor, whether to hold in each stretch), the slow transaction in one
    more. The tablets' results in the order of ``headers``."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(headers) + (holder is not None))
    out = context.Queue()
    processes = [
        context.Process(
            target=_client_process,
            args=(url, h, f"{device}-{n}", stretches, barrier, out, n),
        )
        for n, h in enumerate(headers)
    ]
    if holder is not None:
        email, holds = holder
        plan = list(zip(stretches, holds, strict=True))
        processes.append(
            context.Process(
                target=_holder_process, args=(url, email, plan, barrier, out, len(headers))
            )
        )
    for process in processes:
        process.start()
    results = dict(out.get(timeout=600) for _ in processes)
    for process in processes:
        process.join()
    errors = [r for r in results.values() if isinstance(r, Exception)]
    if errors:
        raise SystemExit(f"A tablet process failed: {errors[0]!r}")
    return [results[n] for n in range(len(headers))], results.get(len(headers))


def in_threads(app: Flask, headers: list[dict[str, str]], seconds: float) -> list[Pushed]:
    barrier = threading.Barrier(len(headers))
    results: list[Any] = [None] * len(headers)

    def run(n: int) -> None:
        try:
            results[n] = push_for(app, headers[n], f"bench-thread-{n}", [seconds], barrier)[0]
        except BaseException as error:
            barrier.abort()
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(headers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise SystemExit(f"A tablet thread failed: {errors[0]!r}")
    return results


@dataclass
class Throughput:
    label: str
    pushed: list[Pushed]

    @property
    def visits(self) -> int:
        return sum(p.visits for p in self.pushed)

    @property
    def seconds(self) -> float:
        return max(p.finished for p in self.pushed) - min(p.started for p in self.pushed)

    @property
    def rate(self) -> float:
        return self.visits / self.seconds

    @property
    def times_ms(self) -> list[float]:
        return [t for p in self.pushed for t in p.times_ms]


@dataclass
class SlowCommit:
    """(c): each tablet's stretches, whether each stretch held, and the slow transaction."""

    tablets: list[list[Pushed]]
    holds: list[bool]
    held: Held

    def times_ms(self, tablets: list[list[Pushed]], holding: bool) -> list[float]:
        return [
            t
            for stretches in tablets
            for pushed, held in zip(stretches, self.holds, strict=True)
            if held == holding
            for t in pushed.times_ms
        ]

    def rate(self, tablets: list[list[Pushed]], holding: bool) -> float:
        """Visit changes a second of these tablets over the stretches of one kind."""
        visits = seconds = 0.0
        for n, held in enumerate(self.holds):
            if held != holding:
                continue
            stretch = [stretches[n] for stretches in tablets]
            visits += sum(p.visits for p in stretch)
            seconds += max(p.finished for p in stretch) - min(p.started for p in stretch)
        return visits / seconds

    def after_holds(self, tablets: list[list[Pushed]]) -> tuple[float, float]:
        """The share of these tablets' batches, in the stretches that held, that ended within
        ``AFTER_HOLD`` seconds after a held commit ended; and the share expected by chance
        (the part of those stretches such windows cover). Far above chance, the batches were
        waiting for the slow transaction: a sign that holds whatever the machine's load,
        where the ratio of medians shrinks as a busy machine makes every batch slower."""
        ends = sorted(self.held.ends)
        hit = total = 0
        covered = spanned = 0.0
        for n, held in enumerate(self.holds):
            if not held:
                continue
            stretch = [stretches[n] for stretches in tablets]
            begin = min(p.started for p in stretch)
            end = max(p.finished for p in stretch)
            spanned += end - begin
            windows = [(e, e + AFTER_HOLD) for e in ends if begin <= e <= end]
            covered += sum(min(b, end) - a for a, b in windows)
            for pushed in stretch:
                total += len(pushed.ends)
                hit += sum(any(a <= t <= b for a, b in windows) for t in pushed.ends)
        return hit / max(total, 1), covered / max(spanned, 1e-9)


def slow_commit(url: str, client_headers: list[dict[str, str]]) -> SlowCommit:
    holds = [False, True] * SLOW_STRETCHES
    stretch = SLOW_SECONDS / SLOW_STRETCHES
    slow_agency = CLIENT_VISITORS[0][0]
    tablets, held = in_processes(
        url,
        client_headers,
        [stretch] * len(holds),
        holder=(visitor_email(slow_agency, 2), holds),
        device="bench-slow",
    )
    assert held is not None
    return SlowCommit(tablets, holds, held)


# (d), (e) and (f): first full pulls -----------------------------------------------------


@dataclass
class Walk:
    """One first full pull: what came, in how many pages, in how long."""

    records: int
    distinct: int
    pages: int
    page_ms: list[float]
    sql_ms: float
    families: list[str]

    @property
    def ms(self) -> float:
        return sum(self.page_ms)

    @property
    def rate(self) -> float:
        return self.records / (self.ms / 1000)


def walk(client: Any, meter: SqlMeter, headers: dict[str, str], limit: int) -> Walk:
    """``POST /sync`` with no cursor, then each cursor, until ``more`` is false, as a new
    device. Only the requests are timed: encoding and decoding are the tablet's work."""
    device = fresh_device("bench-first-pull")
    cursor: str | None = None
    page_ms: list[float] = []
    sql = meter.seconds
    records = 0
    seen: set[tuple[str, str]] = set()
    families: list[str] = []
    while True:
        body: dict[str, Any] = {"device_id": device, "changes": [], "limit": limit}
        if cursor is not None:
            body["cursor"] = cursor
        encoded = json.dumps(body)
        started = time.perf_counter()
        response = client.post(SYNC, data=encoded, content_type="application/json", headers=headers)
        page_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(
                f"{device}: /sync answered {response.status_code}:"
                f" {response.get_data(as_text=True)[:500]}"
            )
        answer = response.get_json()
        for change in answer["changes"]:
            key = (change["entity"], change["id"])
            if change["entity"] == "family" and key not in seen:
                families.append(change["id"])
            seen.add(key)
        records += len(answer["changes"])
        cursor = answer["cursor"]
        if not answer["more"]:
            break
    return Walk(records, len(seen), len(page_ms), page_ms, (meter.seconds - sql) * 1000, families)


def raw_read(app: Flask, family_ids: list[str]) -> tuple[int, float]:
    """The pull's baseline: every row of the families' records (the family, its caregivers,
    children, visits, screenings and observations) read with Core in one transaction; (rows,
    ms)."""
    ids = bindparam("ids", [uuid.UUID(i) for i in family_ids], expanding=True, type_=Uuid())
    rows = 0
    with app.app_context():
        started = time.perf_counter()
        with db.engine.connect() as connection:
            for model in (Family, Caregiver, Child, Visit, Screening, Observation):
                table = model.__table__
                column = table.c.id if model is Family else table.c.family_id
                rows += len(connection.execute(select(table).where(column.in_(ids))).all())
        return rows, (time.perf_counter() - started) * 1000


@dataclass
class FirstPull:
    label: str
    email: str
    walks: list[Walk]
    raw: list[tuple[int, float]]

    @property
    def median(self) -> Walk:
        """The walk of the median time (the lower middle one of an even number)."""
        ordered = sorted(self.walks, key=lambda w: w.ms)
        return ordered[(len(ordered) - 1) // 2]

    @property
    def passed(self) -> bool:
        return self.median.rate >= PULL_TARGET


def first_pulls(
    app: Flask, meter: SqlMeter, label: str, email: str, limit: int = PULL_PAGE
) -> FirstPull:
    """Walks of ``email``'s first full pull, ``PULL_RUNS`` of them but none started once the
    scenario has taken ``PULL_BUDGET`` seconds; each followed by its raw baseline."""
    with app.app_context():
        headers = bearer_for(email)
    client = app.test_client()
    result = FirstPull(label, email, [], [])
    began = time.monotonic()
    while len(result.walks) < PULL_RUNS and (
        not result.walks or time.monotonic() - began < PULL_BUDGET
    ):
        done = walk(client, meter, headers, limit)
        result.walks.append(done)
        result.raw.append(raw_read(app, done.families))
    return result


def pull_users(app: Flask) -> tuple[tuple[str, int], tuple[str, int]]:
    """(d)'s supervisor and (e)'s admin in ``PULL_AGENCY``, each with their families: the
    supervisor of about ``SUPERVISOR_FAMILIES`` (within 10%), else the one with the most."""
    supervisor, visitor = aliased(User), aliased(User)
    with app.app_context():
        agency_id = db.session.scalar(
            select(User.agency_id).where(User.email == admin_email(PULL_AGENCY))
        )
        if agency_id is None:
            raise SystemExit(f"No admin of agency {PULL_AGENCY}: seed the benchmark first.")
        counts = db.session.execute(
            select(supervisor.email, func.count(Family.id))
            .join(
                visitor,
                or_(visitor.supervisor_id == supervisor.id, visitor.id == supervisor.id),
            )
            .join(Family, Family.home_visitor_id == visitor.id)
            .where(
                supervisor.role == "supervisor",
                supervisor.agency_id == agency_id,
                Family.agency_id == agency_id,
            )
            .group_by(supervisor.email)
            .order_by(supervisor.email)
        ).all()
        agency_families = db.session.scalar(
            select(func.count(Family.id)).where(Family.agency_id == agency_id)
        )
        db.session.rollback()
    if not counts:
        raise SystemExit(f"No supervisor with families in agency {PULL_AGENCY}.")
    near = [c for c in counts if abs(c[1] - SUPERVISOR_FAMILIES) <= SUPERVISOR_FAMILIES / 10]
    chosen = near[0] if near else max(counts, key=lambda c: c[1])
    return (chosen[0], chosen[1]), (admin_email(PULL_AGENCY), agency_families or 0)


# Running -----------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def counts_text(counts: Counter) -> str:
    usual = counts.most_common(1)[0][0]
    others = sorted(n for n in counts if n != usual)
    return str(usual) + (f" ({'/'.join(map(str, others))})" if others else "")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def selected(choice: str | None = None) -> str:
    """The scenarios to run, in order: the letters of ``choice``, else of
    ``HVCASE_BENCH_SYNC_SCENARIOS``, else all of them."""
    text = choice if choice is not None else os.environ.get("HVCASE_BENCH_SYNC_SCENARIOS", "")
    letters = {ch for ch in text.lower() if ch.isalnum()}
    unknown = letters - set(SCENARIOS)
    if unknown:
        raise SystemExit(
            f"Unknown sync scenario(s) {', '.join(sorted(unknown))}: choose among {SCENARIOS}."
        )
    return "".join(s for s in SCENARIOS if s in letters) or SCENARIOS


def run(
    app: Flask,
    meter: SqlMeter,
    url: str,
    line: Callable[[str], None] = print,
    scenarios: str | None = None,
) -> bool:
    """The chosen scenarios (``selected``); True when all their targets are met."""
    chosen = selected(scenarios)
    started_at = utcnow()
    with app.app_context():
        headers = bearer_for(visitor_email(*TABLET))
        client_headers = [bearer_for(visitor_email(*v)) for v in CLIENT_VISITORS]
    tablet = Tablet(app.test_client(), headers, "bench-tablet", seed=SHUFFLE_SEED)
    try:
        return measure(app, meter, url, chosen, tablet, client_headers, line)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            removed = connection.execute(
                delete(Visit.__table__).where(Visit.created_at >= started_at)
            ).rowcount
        line(f"Removed the {removed:,} visits the sync benchmark created.")


@dataclass
class TabletRun:
    """What (a) and (f) measured with the tablet."""

    full: list[tuple[float, int, int]] = field(default_factory=list)  # (ms, pages, changes)
    full_raw: tuple[int, float] = (0, 0.0)
    incremental: list[float] = field(default_factory=list)
    incremental_changes: int = 0
    batch_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    queries: Counter = field(default_factory=Counter)
    pulled_back: Counter = field(default_factory=Counter)
    raw_ms: list[float] = field(default_factory=list)


def with_tablet(app: Flask, meter: SqlMeter, tablet: Tablet, chosen: str) -> TabletRun:
    """The tablet's first full pulls ((f), or one to start (a) and (b) with), its incremental
    pull (f), and (a) with its baseline."""
    result = TabletRun()
    for n in range(FULL_PULLS if "f" in chosen else 1):
        tablet.device = fresh_device(f"bench-tablet-{n}")  # each a real first pull
        result.full.append(tablet.pull_all())
    if "f" in chosen:
        result.full_raw = raw_read(app, list(tablet.records["family"]))
    if not set("af") & set(chosen):
        return result
    visitor_id = tablet.home_visitor_id()
    for _ in range(WARMUP):
        tablet.push(tablet.mixed_batch())

    if "f" in chosen:  # an incremental pull after one batch pushed from another device
        cursor = tablet.cursor
        push_elsewhere(tablet, tablet.mixed_batch())
        for _ in range(INCREMENTAL_PULLS):
            took, answer = tablet.post([], cursor)
            result.incremental.append(took)
        result.incremental_changes = len(answer["changes"])
        tablet.learn(answer)

    if "a" not in chosen:
        return result
    # (a) and its baseline, in blocks of BLOCK, in a shuffled order.
    order = random.Random(SHUFFLE_SEED)
    for _ in range(-(-RUNS // BLOCK)):
        for kind in order.sample(["sync", "raw"], 2):
            done = len(result.batch_ms if kind == "sync" else result.raw_ms)
            for _ in range(min(BLOCK, RUNS - done)):
                if kind == "raw":
                    result.raw_ms.append(raw_insert(app, tablet.visit_rows(BATCH, visitor_id)))
                    continue
                changes = tablet.mixed_batch()
                count, seconds = meter.count, meter.seconds
                took, answer = tablet.push(changes)
                result.batch_ms.append(took)
                result.sql_ms.append((meter.seconds - seconds) * 1000)
                result.queries[meter.count - count] += 1
                result.pulled_back[len(answer["changes"])] += 1
    return result


def push_elsewhere(tablet: Tablet, changes: list[dict[str, Any]]) -> None:
    """Push ``changes`` from another device of the same user, with no cursor (its pull is not
    looked at), the tablet keeping its own device and cursor: a device is not sent back its
    own changes, a colleague's device is."""
    device, cursor = tablet.device, tablet.cursor
    tablet.device, tablet.cursor = fresh_device("bench-other-device"), None
    try:
        tablet.push(changes)
    finally:
        tablet.device, tablet.cursor = device, cursor


def measure(
    app: Flask,
    meter: SqlMeter,
    url: str,
    chosen: str,
    tablet: Tablet,
    client_headers: list[dict[str, str]],
    line: Callable[[str], None],
) -> bool:
    line("")
    line(
        f"Sync, scenarios {', '.join(f'({s})' for s in chosen)}: POST {SYNC} through the whole"
        f" app in-process; {load()}"
    )
    verdicts: dict[str, bool] = {}
    report: list[str] = []  # printed once everything is measured
    if set("abc") & set(chosen):
        report.append(
            f"{'scenario':<46} {'median ms':>10} {'p95 ms':>8} {'SQL ms':>7} {'queries':>8}"
            f" {'× baseline':>11}  target"
        )

    if set("abf") & set(chosen):
        tablet_run = with_tablet(app, meter, tablet, chosen)
        if "a" in chosen:
            verdicts["a"] = report_batch(tablet_run, report.append)
    if "b" in chosen:
        # 4 tablets at once: processes (the verdict), then threads; and the baseline.
        pushed, _ = in_processes(url, client_headers, [SECONDS])
        processes = Throughput("4 processes", [p[0] for p in pushed])
        threads = Throughput("4 threads", in_threads(app, client_headers, SECONDS))
        rows = tablet.visit_rows(processes.visits, tablet.home_visitor_id())
        raw_rate = processes.visits / (raw_insert(app, rows) / 1000)
        verdicts["b"] = report_throughput(processes, threads, raw_rate, report.append)
    if "c" in chosen:
        verdicts["c"] = report_slow_commit(slow_commit(url, client_headers), report.append)
    if set("def") & set(chosen):
        report.append(
            f"{'first full pulls':<46} {'records':>8} {'pages':>6} {'seconds':>8}"
            f" {'a second':>9} {'SQL s':>7} {'× baseline':>11}  target"
        )
    if set("de") & set(chosen):
        (supervisor, supervised), (admin, administered) = pull_users(app)
        for letter, role, email, families in (
            ("d", "supervisor", supervisor, supervised),
            ("e", "agency admin", admin, administered),
        ):
            if letter in chosen:
                label = f"({letter}) {role}, {families:,} families, {PULL_PAGE:,} a page"
                pulled = first_pulls(app, meter, label, email)
                verdicts[letter] = report_first_pull(pulled, report.append)
    if "f" in chosen:
        verdicts["f"] = report_tablet_pulls(tablet_run, report.append)

    for row in report:
        line(row)
    line(f"After the sync benchmark: {load()}")
    missed = [f"({s})" for s, ok in verdicts.items() if not ok]
    if missed:
        line(f"\nSync target missed: {', '.join(missed)}")
    batch_missed = not (verdicts.get("a", True) and verdicts.get("b", True))
    if (os.environ.get("HVCASE_BENCH_EXPLAIN") == "1" or batch_missed) and tablet.families:
        explain(app, meter, tablet, line)
    return not missed


# Reporting ---------------------------------------------------------------------------------


def report_batch(result: TabletRun, line: Callable[[str], None]) -> bool:
    passed = median(result.batch_ms) < BATCH_TARGET_MS
    raw = median(result.raw_ms)
    mix = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in MIX.items())
    line(
        f"{'(a) 50-change batch':<46} {median(result.batch_ms):>10.2f}"
        f" {p95(result.batch_ms):>8.2f} {median(result.sql_ms):>7.2f}"
        f" {counts_text(result.queries):>8} {median(result.batch_ms) / raw:>10.1f}×"
        f"  < {BATCH_TARGET_MS:.0f} ms median: {verdict(passed)}"
    )
    line(
        f"{'    baseline: raw insert of 50 visit rows':<46} {raw:>10.2f}"
        f" {p95(result.raw_ms):>8.2f} {'':>7} {'1':>8} {1:>10.1f}×"
    )
    line(
        f"    {RUNS} timed batches after {WARMUP} warm-up; a batch: {mix}; pulled with it:"
        f" {counts_text(result.pulled_back)} changes"
    )
    return passed


def report_throughput(
    processes: Throughput, threads: Throughput, raw_rate: float, line: Callable[[str], None]
) -> bool:
    passed = processes.rate >= THROUGHPUT_TARGET
    for result in (processes, threads):
        label = f"(b) {result.label}, 50-visit batches"
        line(
            f"{label:<46} {median(result.times_ms):>10.2f} {p95(result.times_ms):>8.2f}"
            f"  {result.visits:,} visits in {result.seconds:.1f} s: {result.rate:,.0f} a second,"
            f" {raw_rate / result.rate:.1f}× the baseline's time a visit"
            + (
                f"; ≥ {THROUGHPUT_TARGET:,.0f} a second: {verdict(passed)}"
                if result is processes
                else " (not the verdict: one interpreter)"
            )
        )
    line(
        f"{'    baseline: raw insert of ' + format(processes.visits, ',') + ' rows':<46}"
        f" {'':>10} {'':>8}  one transaction: {raw_rate:,.0f} a second"
    )
    return passed


def report_slow_commit(result: SlowCommit, line: Callable[[str], None]) -> bool:
    slow_agency = CLIENT_VISITORS[0][0]
    others, own = result.tablets[1:], result.tablets[:1]
    without, held = result.times_ms(others, False), result.times_ms(others, True)
    ratio = median(held) / median(without)
    passed = ratio <= SLOW_TARGET
    agencies = ", ".join(str(agency) for agency, _ in CLIENT_VISITORS[1:])
    for label, times, holding in (
        (f"(c) agencies {agencies}, no slow commit", without, False),
        (f"(c) agencies {agencies}, slow commit in {slow_agency}", held, True),
    ):
        line(
            f"{label:<46} {median(times):>10.2f} {p95(times):>8.2f}  {len(times)} batches,"
            f" {result.rate(others, holding):,.0f} visit changes a second"
            + (
                f"; {ratio:.1f}× without it; within {SLOW_TARGET:.0f}×: {verdict(passed)}"
                if holding
                else " (the baseline)"
            )
        )
    after, chance = result.after_holds(others)
    line(
        f"    with it, {after:.0%} of their batches ended within {AFTER_HOLD * 1000:.0f} ms after"
        f" a held commit ended ({chance:.0%} by chance): waiting for it when far above chance"
    )
    line(
        f"    agency {slow_agency}'s own tablet: {median(result.times_ms(own, False)):,.0f} ms"
        f" median without, {median(result.times_ms(own, True)):,.0f} ms with (not the verdict);"
        f" the slow transaction: {len(result.held.commits_ms)} commits held"
        f" {HOLD_SECONDS:.0f} s each (median {median(result.held.commits_ms):,.0f} ms),"
        f" {SLOW_SECONDS / SLOW_STRETCHES:.0f} s stretches without and with, alternating,"
        f" {SLOW_SECONDS:.0f} s of each"
    )
    return passed


def report_first_pull(result: FirstPull, line: Callable[[str], None]) -> bool:
    walk = result.median
    rows, raw_ms = result.raw[result.walks.index(walk)]
    line(
        f"{result.label:<46} {walk.records:>8,} {walk.pages:>6} {walk.ms / 1000:>8.2f}"
        f" {walk.rate:>9,.0f} {walk.sql_ms / 1000:>7.2f} {walk.ms / raw_ms:>10.1f}×"
        f"  ≥ {PULL_TARGET:,.0f} a second: {verdict(result.passed)}"
    )
    times = ", ".join(f"{w.ms / 1000:.2f}" for w in result.walks)
    line(
        f"    {result.email}: median of {len(result.walks)} walk(s) ({times} s);"
        f" {walk.distinct:,} distinct"
        f" records; first page {walk.page_ms[0]:,.0f} ms, last {walk.page_ms[-1]:,.0f} ms,"
        f" slowest {max(walk.page_ms):,.0f} ms; baseline: {rows:,} rows read raw in"
        f" {raw_ms:,.0f} ms ({rows / (raw_ms / 1000):,.0f} a second)"
    )
    return result.passed


def report_tablet_pulls(result: TabletRun, line: Callable[[str], None]) -> bool:
    ordered = sorted(result.full)
    ms, pages, pulled = ordered[(len(ordered) - 1) // 2]  # the lower middle of an even number
    rate = pulled / (ms / 1000)
    passed = rate >= PULL_TARGET
    rows, raw_ms = result.full_raw
    line(
        f"{'(f) home visitor, first full pull, ' + str(PULL_LIMIT) + ' a page':<46}"
        f" {pulled:>8,} {pages:>6} {ms / 1000:>8.2f} {rate:>9,.0f} {'':>7} {ms / raw_ms:>10.1f}×"
        f"  ≥ {PULL_TARGET:,.0f} a second: {verdict(passed)}"
    )
    line(
        f"    median of {len(result.full)} pulls, {ms / pages:,.1f} ms a page; baseline:"
        f" {rows:,} rows read raw in {raw_ms:,.0f} ms"
    )
    line(
        f"{'(f) incremental pull after one batch':<46} {median(result.incremental):>10.2f} ms"
        f" median, p95 {p95(result.incremental):.2f} ms, {result.incremental_changes} changes"
    )
    return passed


# Explaining --------------------------------------------------------------------------------


def kind(statement: str) -> str:
    """A statement's kind: its verb and table (a SELECT by primary key said so)."""
    words = " ".join(statement.split())
    if words.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
        return words.rsplit(" ", 1)[0]
    if words.startswith("WITH"):
        return "WITH ... (the pull's stream of changes)"
    verb = words.split(" ", 1)[0]
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", words)
    by_id = verb == "SELECT" and re.search(r"WHERE \w+\.id = %\(", words)
    return f"{verb} {table.group(1) if table else '?'}" + (" by id" if by_id else "")


def explain(app: Flask, meter: SqlMeter, tablet: Tablet, line: Callable[[str], None]) -> None:
    """One more batch: its statements by kind, and EXPLAIN ANALYZE of each distinct SELECT,
    the slowest printed whole."""
    meter.recorded = []
    tablet.push(tablet.mixed_batch())
    statements, meter.recorded = meter.recorded, None
    kinds = Counter(kind(statement) for statement, _ in statements)
    line(f"\n--- The {len(statements)} statements of one 50-change batch, by kind")
    for name, count in kinds.most_common():
        line(f"{count:>6}  {name}")
    plans = []
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            seen = set()
            for statement, parameters in statements:
                if kind(statement).split(" ", 1)[0] not in ("SELECT", "WITH") or statement in seen:
                    continue
                seen.add(statement)
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                plan = [row[0] for row in cursor.fetchall()]
                took = next(
                    (float(p.split(":")[1].split()[0]) for p in plan if "Execution Time" in p),
                    0.0,
                )
                plans.append((took, kind(statement), plan))
            connection.rollback()
        finally:
            connection.close()
    plans.sort(key=lambda p: p[0], reverse=True)
    line("\n--- EXPLAIN ANALYZE of each distinct SELECT of the batch (once), slowest first")
    for took, name, _ in plans:
        line(f"{took:>10.2f} ms  {name}")
    took, name, plan = plans[0]
    line(f"\n--- The slowest, {name} ({took:.2f} ms):")
    for row in plan:
        line("  " + (row if len(row) <= 200 else row[:195] + " ...)"))


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    url = bench_database_url()
    ensure_database(url)
    app = make_app(url)
    if not seeded(app):
        print("No full data set at the latest migration: seeding.")
        seed(app)
    with app.app_context():
        meter = SqlMeter(db.engine)
    run(app, meter, url, scenarios=" ".join(sys.argv[1:]) or None)


if __name__ == "__main__":
    main()
