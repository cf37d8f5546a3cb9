"""The sync benchmark: tablets pushing and pulling through ``POST /api/v1/sync``.

``python -m bench`` runs it after the family list; ``python -m bench.sync`` runs it alone (and
seeds first when the data set is not there). Every request goes through the whole app
in-process, as the family list's do: Flask's test client, a home visitor's bearer token, the
sign-in guard, the one transaction (a savepoint for each change, one for a run of new visits),
the sync clock's stamp at commit, the audit events.

- (a) A tablet pushes 50-change batches: 42 visits logged after the fact (completed, with
  participants and topics), 2 visits booked ahead, 4 corrections of visits with
  ``base_version`` (2 it pulled, 2 it pushed earlier), a family edit and a caregiver edit, each
  carrying the version it was made on. Every batch carries the tablet's cursor, as a tablet's
  does, so it also pulls back the previous batch. Every change must come back ``applied``.
  Target (DESIGN.md): under 150 ms median.
- (b) Throughput: 4 tablets of 4 home visitors push 50-visit batches for 10 s at once, each in
  a process of its own with its own app (as gunicorn's worker processes would serve them), and
  again as 4 threads sharing one app (one interpreter: the GIL lets one thread run Python at a
  time). Target: at least 1,000 visit changes a second, with the processes.
- (c) Baselines in the same run: the same number of visit rows inserted raw, with Core
  ``insert()`` executemany in one transaction (for (a) 50 rows, interleaved with the batches in
  blocks of 10); each sync figure is printed as a ratio to its baseline.
- (d) Pulls: a home visitor's first full pull (no cursor, 500 a page, until ``more`` is false),
  and an incremental pull after one batch.

The visits the benchmark creates are deleted at the end, so that a run with
``HVCASE_BENCH_SKIP_SEED=1`` measures the same data set as the one before it.

Environment: ``HVCASE_BENCH_SYNC_RUNS`` (timed batches of (a), 100),
``HVCASE_BENCH_SYNC_SECONDS`` (duration of (b), 10).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import statistics
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, insert

from bench import SqlMeter, bearer_for, bench_database_url, ensure_database, make_app
from bench.seed import seed, seeded, visitor_email
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families import codes as family_codes
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
# The tablets: agency 1's home visitor 2 for (a) and (d) (the family list times visitor 1),
# home visitor 1 of agencies 2 to 5 for (b).
TABLET = (1, 2)
CLIENT_VISITORS = [(agency, 1) for agency in range(2, 2 + CLIENTS)]
SHUFFLE_SEED = 42


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
        default_factory=lambda: {"family": {}, "caregiver": {}, "child": {}, "visit": {}}
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


# (b): concurrent tablets ------------------------------------------------------------------


@dataclass
class Pushed:
    """What one concurrent tablet did in its time."""

    visits: int
    started: float  # time.monotonic(), the same clock in every process
    finished: float
    times_ms: list[float]


def push_for(app: Flask, headers: dict[str, str], device: str, seconds: float, barrier) -> Pushed:
    """Pull, warm up, wait for the others, then push 50-visit batches for ``seconds``."""
    tablet = Tablet(app.test_client(), headers, device, seed=sum(map(ord, device)))
    tablet.pull_all()
    for _ in range(2):
        tablet.push(tablet.visit_batch())
    barrier.wait()
    times: list[float] = []
    visits = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        took, answer = tablet.push(tablet.visit_batch())
        times.append(took)
        visits += len(answer["results"])
    return Pushed(visits, started, time.monotonic(), times)


def _client_process(url: str, headers: dict[str, str], device: str, seconds: float, barrier, out):
    """A process's tablet, with an app of its own (a spawned process shares nothing)."""
    try:
        out.put(push_for(make_app(url), headers, device, seconds, barrier))
    except BaseException as error:  # the parent must not wait for a result that never comes
        barrier.abort()
        out.put(error if isinstance(error, Exception) else RuntimeError(repr(error)))
        raise


def in_processes(url: str, headers: list[dict[str, str]], seconds: float) -> list[Pushed]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(headers))
    out = context.Queue()
    processes = [
        context.Process(
            target=_client_process,
            args=(url, h, f"bench-process-{n}", seconds, barrier, out),
        )
        for n, h in enumerate(headers)
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        raise SystemExit(f"A tablet process failed: {errors[0]!r}")
    return results


def in_threads(app: Flask, headers: list[dict[str, str]], seconds: float) -> list[Pushed]:
    barrier = threading.Barrier(len(headers))
    results: list[Any] = [None] * len(headers)

    def run(n: int) -> None:
        try:
            results[n] = push_for(app, headers[n], f"bench-thread-{n}", seconds, barrier)
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


def run(app: Flask, meter: SqlMeter, url: str, line: Callable[[str], None] = print) -> bool:
    """Every scenario; True when both targets are met."""
    started_at = utcnow()
    with app.app_context():
        headers = bearer_for(visitor_email(*TABLET))
        client_headers = [bearer_for(visitor_email(*v)) for v in CLIENT_VISITORS]
    tablet = Tablet(app.test_client(), headers, "bench-tablet", seed=SHUFFLE_SEED)
    try:
        return measure(app, meter, url, tablet, client_headers, line)
    finally:
        with app.app_context(), db.engine.begin() as connection:
            removed = connection.execute(
                delete(Visit.__table__).where(Visit.created_at >= started_at)
            ).rowcount
        line(f"Removed the {removed:,} visits the sync benchmark created.")


def measure(
    app: Flask,
    meter: SqlMeter,
    url: str,
    tablet: Tablet,
    client_headers: list[dict[str, str]],
    line: Callable[[str], None],
) -> bool:
    line("")
    line(
        f"Sync: POST {SYNC} through the whole app in-process; {RUNS} timed batches after"
        f" {WARMUP} warm-up; {load()}"
    )

    # (d) A first full pull, as the tablet of (a) starts with.
    full = [tablet.pull_all() for _ in range(FULL_PULLS)]
    full_ms = median([f[0] for f in full])
    _, pages, pulled = full[-1]
    visitor_id = tablet.home_visitor_id()
    for _ in range(WARMUP):
        tablet.push(tablet.mixed_batch())

    # (d) An incremental pull after one batch: the batch comes back, once.
    tablet.push(tablet.mixed_batch())
    cursor = tablet.cursor
    incremental = []
    for _ in range(INCREMENTAL_PULLS):
        took, answer = tablet.post([], cursor)
        incremental.append(took)
    incremental_changes = len(answer["changes"])
    tablet.learn(answer)

    # (a) and its baseline, in blocks of BLOCK, in a shuffled order.
    batch_ms: list[float] = []
    sql_ms: list[float] = []
    queries: Counter = Counter()
    pulled_back: Counter = Counter()
    raw_ms: list[float] = []
    order = random.Random(SHUFFLE_SEED)
    for _ in range(-(-RUNS // BLOCK)):
        for kind in order.sample(["sync", "raw"], 2):
            for _ in range(min(BLOCK, RUNS - (len(batch_ms) if kind == "sync" else len(raw_ms)))):
                if kind == "raw":
                    raw_ms.append(raw_insert(app, tablet.visit_rows(BATCH, visitor_id)))
                    continue
                changes = tablet.mixed_batch()
                count, seconds = meter.count, meter.seconds
                took, answer = tablet.push(changes)
                batch_ms.append(took)
                sql_ms.append((meter.seconds - seconds) * 1000)
                queries[meter.count - count] += 1
                pulled_back[len(answer["changes"])] += 1

    # (b) 4 tablets at once: processes (the verdict), then threads; and the baseline.
    processes = Throughput("4 processes", in_processes(url, client_headers, SECONDS))
    threads = Throughput("4 threads", in_threads(app, client_headers, SECONDS))
    rows = tablet.visit_rows(processes.visits, visitor_id)
    raw_rate = processes.visits / (raw_insert(app, rows) / 1000)

    # Report.
    a_passed = median(batch_ms) < BATCH_TARGET_MS
    b_passed = processes.rate >= THROUGHPUT_TARGET
    raw = median(raw_ms)
    mix = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in MIX.items())
    line(
        f"{'scenario':<46} {'median ms':>10} {'p95 ms':>8} {'SQL ms':>7} {'queries':>8}"
        f" {'× baseline':>11}  target"
    )
    line(
        f"{'(a) 50-change batch':<46} {median(batch_ms):>10.2f} {p95(batch_ms):>8.2f}"
        f" {median(sql_ms):>7.2f} {counts_text(queries):>8} {median(batch_ms) / raw:>10.1f}×"
        f"  < {BATCH_TARGET_MS:.0f} ms median: {verdict(a_passed)}"
    )
    line(
        f"{'(c) baseline: raw insert of 50 visit rows':<46} {raw:>10.2f} {p95(raw_ms):>8.2f}"
        f" {'':>7} {'1':>8} {1:>10.1f}×"
    )
    line(f"    a batch: {mix}; pulled back with it: {counts_text(pulled_back)} changes")
    for result in (processes, threads):
        label = f"(b) {result.label}, 50-visit batches"
        line(
            f"{label:<46} {median(result.times_ms):>10.2f} {p95(result.times_ms):>8.2f}"
            f"  {result.visits:,} visits in {result.seconds:.1f} s: {result.rate:,.0f} a second,"
            f" {raw_rate / result.rate:.1f}× the baseline's time a visit"
            + (
                f"; ≥ {THROUGHPUT_TARGET:,.0f} a second: {verdict(b_passed)}"
                if result is processes
                else " (not the verdict: one interpreter)"
            )
        )
    line(
        f"{'(c) baseline: raw insert of ' + format(processes.visits, ',') + ' rows':<46}"
        f" {'':>10} {'':>8}  one transaction: {raw_rate:,.0f} a second"
    )
    line(
        f"{'(d) first full pull, 500 a page':<46} {full_ms:>10.2f} {'':>8}  {pages} pages,"
        f" {pulled:,} changes, {full_ms / pages:.1f} ms a page (median of {FULL_PULLS} pulls)"
    )
    line(
        f"{'(d) incremental pull after one batch':<46} {median(incremental):>10.2f}"
        f" {p95(incremental):>8.2f}  {incremental_changes} changes"
    )
    line(f"After the sync benchmark: {load()}")
    if not (a_passed and b_passed):
        missed = [n for n, ok in (("(a)", a_passed), ("(b)", b_passed)) if not ok]
        line(f"\nSync target missed: {' and '.join(missed)}")
    if os.environ.get("HVCASE_BENCH_EXPLAIN") == "1" or not (a_passed and b_passed):
        explain(app, meter, tablet, line)
    return a_passed and b_passed


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
    run(app, meter, url)


if __name__ == "__main__":
    main()
