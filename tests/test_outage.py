"""The database goes away under load and comes back (API.md, Conventions; DESIGN.md promise 3):
while it is down every answer is a 503 problem+json with ``Retry-After``, quickly (never a 500,
never a hang); once it is back the app answers normally within 30 seconds, without a restart.

The database stopped and started is a private PostgreSQL cluster of this test (in a temporary
directory, on a port of its own), never the shared test database, which other tests use at the
same time. gunicorn serves the app on it while a client writes visits and families and reads
them; ``pytest -s`` prints the answers by status while the database is down and the seconds to
recover.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
import psycopg
import pytest

from tests.api import sign_in_as
from tests.conftest import DATABASE_URL, need_service
from tests.factories import AgencyFactory, FamilyFactory, UserFactory
from tests.families import enrollment_body
from tests.live import LiveClient, LiveServer, committing_app, one_transaction
from tests.visits import completed_visit

pytestmark = pytest.mark.postgres

DOWN_SECONDS = 8  # how long the database stays down while the client keeps asking
PROMISED_RECOVERY = 30  # seconds (API.md)
QUICK = 5.0  # seconds: an answer slower than this while the database is down is a hang
TABLETS = 2  # clients at once: light load (6, and a crash-like "immediate" stop, pass as well)


# A private PostgreSQL cluster -------------------------------------------------------------


def server_binaries() -> Path | None:
    """The directory of initdb, pg_ctl and postgres: pg_config's, else the newest of Debian's
    versioned directories, else the PATH's."""
    candidates: list[Path] = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(found.stdout.strip()))
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    for directory in candidates:
        if all((directory / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateCluster:
    """A throwaway cluster: trust authentication, 127.0.0.1 only, its socket in its own
    directory. initdb refuses to run as root, so under root (CI) the cluster belongs to the
    ``postgres`` user, in a directory of its own (pytest's temporary directories are private
    to root)."""

    def __init__(self, binaries: Path, tmp_path: Path) -> None:
        self.binaries = binaries
        self.as_root = os.geteuid() == 0
        if self.as_root:
            self.root = Path(tempfile.mkdtemp(prefix="hvcase-outage-"))
            shutil.chown(self.root, user="postgres")
        else:
            self.root = tmp_path
        self.data = self.root / "data"
        self.port = free_port()
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "fsync = off\n"  # a throwaway database: no crash to survive
            )

    def run(self, program: str, *args: str) -> None:
        command = [str(self.binaries / program), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{program} failed:\n{done.stdout}\n{done.stderr}\n{self.log()}")

    def start(self) -> None:
        """Start, and return once it accepts connections."""
        log = str(self.root / "server.log")
        self.run("pg_ctl", "start", "-D", str(self.data), "-l", log, "-w", "-t", "60")

    def stop(self, mode: str = "fast") -> None:
        """Stop: ``fast`` ends every session at once, as an operator's restart does."""
        self.run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):  # already down
                self.stop("immediate")
        if self.as_root:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    need_service(
        DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: the outage test needs PostgreSQL"
    )
    binaries = server_binaries()
    need_service(binaries, "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found")
    assert binaries is not None
    private = PrivateCluster(binaries, tmp_path)
    try:
        private.start()
        yield private
    finally:
        private.remove()


# The client's answers ---------------------------------------------------------------------


@dataclass
class Answer:
    sent: float  # time.monotonic()
    received: float
    request: str
    status: int | None  # None: no HTTP answer at all (the connection failed or timed out)
    content_type: str = ""
    retry_after: str | None = None
    detail: str = ""

    @property
    def seconds(self) -> float:
        return self.received - self.sent


class Load(threading.Thread):
    """One tablet, as busy as a tablet gets: writes a visit and a family and reads them back,
    again and again, until told to stop."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        family_id: str,
        agency: Any,
        answers: list[Answer],
        done: threading.Event,
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.requests = [
            ("POST", "/visits", completed_visit(_Id(family_id))),
            ("GET", f"/visits?family_id={family_id}", None),
            # The same household again and again: enrolled anyway, not refused as a duplicate.
            ("POST", "/families", enrollment_body(agency, confirm_not_duplicate=True)),
            ("GET", f"/families/{family_id}", None),
            ("GET", "/me", None),
            ("GET", "/health", None),
        ]
        self.answers = answers  # shared by the tablets (list.append is atomic)
        self.done = done

    def run(self) -> None:
        # The client waits longer than QUICK, so a slow answer is measured rather than cut.
        client = LiveClient(self.url, self.headers, timeout=3 * QUICK)
        while not self.done.is_set():
            for method, path, body in self.requests:
                sent = time.monotonic()
                try:
                    reply = client.request(method, path, json=body)
                except (OSError, http.client.HTTPException) as error:
                    client.close()
                    self.answers.append(
                        Answer(sent, time.monotonic(), f"{method} {path}", None, detail=repr(error))
                    )
                    continue
                problem = reply.json() if reply.status >= 400 and reply.body else {}
                self.answers.append(
                    Answer(
                        sent,
                        time.monotonic(),
                        f"{method} {path}",
                        reply.status,
                        reply.headers.get("Content-Type", ""),
                        reply.headers.get("Retry-After"),
                        problem.get("detail", "") if isinstance(problem, dict) else "",
                    )
                )
                time.sleep(0.05)
        client.close()


def wait_for(answers: list[Answer], check: Any, timeout: float) -> Answer | None:
    """The first answer (from now on) that passes ``check``, or None after ``timeout``."""
    seen = len(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for answer in answers[seen:]:
            if check(answer):
                return answer
        seen = len(answers)
        time.sleep(0.05)
    return None


@dataclass
class _Id:
    id: str


def by_status(answers: list[Answer]) -> dict[str, int]:
    return dict(Counter(str(a.status) for a in answers))


# The test ---------------------------------------------------------------------------------


def test_a_database_outage_is_a_quick_503_and_the_app_recovers_by_itself(
    cluster: PrivateCluster,
) -> None:
    url = cluster.url("hvcase")
    with psycopg.connect(cluster.url("postgres"), autocommit=True) as admin:
        admin.execute("CREATE DATABASE hvcase")
    server = LiveServer(url, workers=2)  # boots while the schema and data are made
    answers: list[Answer] = []
    done = threading.Event()
    tablets: list[Load] = []
    try:
        with committing_app(url):
            flask_migrate.upgrade()
            with one_transaction():
                agency = AgencyFactory(name="Outage")
                visitor = UserFactory(role="home_visitor", agency=agency)
                family = FamilyFactory(home_visitor=visitor)
                headers = sign_in_as(visitor, device_name="outage test")
            base = server.ready()
            tablets = [
                Load(base, headers, str(family.id), agency, answers, done) for _ in range(TABLETS)
            ]
        for tablet in tablets:
            tablet.start()
        ok = wait_for(answers, lambda a: a.status is not None and a.status < 300, timeout=30)
        assert ok is not None, f"no 2xx before the outage: {by_status(answers)}"
        time.sleep(1)  # a few round trips of every request

        stopping = time.monotonic()
        cluster.stop()
        down = time.monotonic()
        time.sleep(DOWN_SECONDS)
        starting = time.monotonic()
        cluster.start()
        up = time.monotonic()
        first_ok = wait_for(
            answers,
            lambda a: a.sent >= down and a.status is not None and a.status < 300,
            timeout=PROMISED_RECOVERY + QUICK,
        )
        time.sleep(1)  # and normal answers after it
    finally:
        done.set()
        for tablet in tablets:
            tablet.join(timeout=3 * QUICK)
        server.stop()

    while_down = [a for a in answers if a.sent >= down and a.received <= starting]
    print(
        f"\nstopping the database took {down - stopping:.1f} s, starting it {up - starting:.1f} s"
        f"\n{len(while_down)} answers while it was down, by status: {by_status(while_down)}"
        f"; slowest {max((a.seconds for a in while_down), default=0):.2f} s"
    )
    print(f"every answer of the run, by status: {by_status(answers)}")

    assert len(while_down) >= 10, "too few requests while the database was down to judge"
    for answer in while_down:
        assert answer.status == 503, answer
        assert answer.content_type.startswith("application/problem+json"), answer
        assert answer.retry_after and answer.retry_after.isdigit(), answer
        assert answer.seconds < QUICK, answer
    # Around the stop and the start as well (a request cut mid-way, a pool of dead
    # connections, a database still starting up): a 503 at worst, never a 500 nor silence.
    for answer in answers:
        assert answer.status is not None, answer
        assert answer.status < 500 or answer.status == 503, answer
        if answer.status == 503:
            assert answer.retry_after, answer
        assert answer.seconds < QUICK, answer
        if answer.status >= 400 and answer.status != 503:
            pytest.fail(f"a request that succeeds before the outage was refused: {answer}")

    assert first_ok is not None, f"no 2xx within {PROMISED_RECOVERY} s of the database's return"
    recovery = first_ok.received - up
    print(f"first 2xx {max(recovery, 0):.2f} s after the database accepted connections again")
    assert recovery < PROMISED_RECOVERY
    after = [a for a in answers if a.sent >= first_ok.received]
    assert after and all(a.status < 300 for a in after if a.status), by_status(after)
