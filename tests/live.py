"""The app in real processes, for what only real processes can show.

``LiveServer(database_url)`` boots ``gunicorn wsgi:app`` with several worker processes on a
free port of 127.0.0.1, as a deployment runs it; ``ready()`` gives its base URL once
``/api/v1/health`` answers (``serve()`` wraps both in a context manager). ``LiveClient``
speaks to it over HTTP with a bearer token, with the standard library only. Such a server
commits for real, so what it serves is made beforehand through ``committing_app()`` (a second
app whose sessions commit, not the test's rolled-back one) and removed afterwards with
``delete_agency`` (every row of one agency but its audit events), leaving the shared test
database as the rolled-back tests expect it; ``row_counts`` proves it.

    server = LiveServer(DATABASE_URL)  # boots while the data is made
    with committing_app(DATABASE_URL), one_transaction():
        agency = AgencyFactory()
        headers = sign_in_as(UserFactory(agency=agency))
        agency_id = agency.id
    try:
        assert LiveClient(server.ready(), headers).get("/me").status == 200
    finally:
        server.stop()
        with committing_app(DATABASE_URL):
            delete_agency(agency_id)
"""

from __future__ import annotations

import http.client
import json as jsonlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from celery import current_app as current_celery
from flask import Flask
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.sql import Select

from hvcase import create_app
from hvcase.extensions import db

ROOT = Path(__file__).resolve().parent.parent
BASE = "/api/v1"
HEALTH = BASE + "/health"
# Kept when their agency is deleted: the audit trail is append-only (the database refuses to
# delete its rows), and its events name the deleted ids only as plain values.
APPEND_ONLY = frozenset({"audit_events"})


# The server -------------------------------------------------------------------------------


class LiveServer:
    """``gunicorn wsgi:app`` with ``workers`` processes on ``database_url``, booting from the
    moment it is made (so a test can make its data meanwhile); ``ready()`` waits for
    ``/api/v1/health`` to answer 200 and gives the base URL (``http://127.0.0.1:<port>``);
    ``stop()`` ends it (SIGTERM, then SIGKILL). The code served is this checkout's, whatever
    is installed. ``settings`` adds ``HVCASE_*`` variables (``{"LOG_LEVEL": "DEBUG"}``).

    ``preload`` (gunicorn ``--preload``) makes the app once and forks the workers from it, so
    they start in the time one takes rather than competing for the CPU; making the app opens
    no database connection, so each worker still has its own."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 3,
        preload: bool = True,
        settings: dict[str, str] | None = None,
    ) -> None:
        # The test process binds the socket and hands it to gunicorn (fd://), so the port is
        # ours from the start: no other process can take it between choosing and binding.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        log_fd, self.log = tempfile.mkstemp(prefix="hvcase-gunicorn-", suffix=".log")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "wsgi:app",
            "--bind",
            f"fd://{listener.fileno()}",
            "--workers",
            str(workers),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            *(["--preload"] if preload else []),
        ]
        try:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=server_environment(database_url, settings),
                pass_fds=(listener.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log_fd,
                stderr=subprocess.STDOUT,
            )
        finally:
            listener.close()  # gunicorn holds its own copies
            os.close(log_fd)

    def ready(self, timeout: float = 60.0) -> str:
        """The base URL, once the health check answers 200 (the server is stopped, and an
        error with the end of its log raised, should it not within ``timeout`` seconds)."""
        parts = urlsplit(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}:\n{self.tail()}"
                )
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
            try:
                connection.request("GET", HEALTH)
                if connection.getresponse().status == 200:
                    return self.url
            except OSError:
                pass  # not accepting yet
            finally:
                connection.close()
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{HEALTH} did not answer 200 within {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        """End gunicorn and its workers, and remove the log (its end is printed first when it
        says anything: the warnings and tracebacks of a failed test)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if os.path.exists(self.log):
            if os.path.getsize(self.log):
                print(f"gunicorn's log ends:\n{self.tail()}", file=sys.stderr)
            os.unlink(self.log)

    def tail(self, size: int = 4000) -> str:
        with open(self.log, "rb") as handle:
            handle.seek(max(0, os.path.getsize(self.log) - size))
            return handle.read().decode(errors="replace")


@contextmanager
def serve(database_url: str, **options: Any) -> Iterator[str]:
    """A ``LiveServer`` (same options) from start to stop: yields its base URL once ready."""
    server = LiveServer(database_url, **options)
    try:
        yield server.ready()
    finally:
        server.stop()


def server_environment(database_url: str, settings: dict[str, str] | None = None) -> dict[str, str]:
    """The served app's environment: testing settings on ``database_url``, with no Redis (tasks
    in-process, rate-limit counts in each process's memory) and none of the caller's
    ``HVCASE_*`` variables, which would otherwise reach the app as settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HVCASE_")}
    env.update(
        {
            "HVCASE_ENV": "testing",
            "HVCASE_DATABASE_URL": database_url,
            "HVCASE_SECRET_KEY": secrets.token_urlsafe(32),
            "HVCASE_RATELIMIT_STORAGE_URL": "memory://",
            # This checkout first, ahead of an installed copy of hvcase.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
    )
    env.update({f"HVCASE_{name}": value for name, value in (settings or {}).items()})
    return env


# The client -------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None

    def text(self) -> str:
        return self.body.decode(errors="replace")


class LiveClient:
    """``LiveClient(url, sign_in_as(user)).get("/me")``: paths relative to /api/v1, JSON in
    and out, over one connection kept alive while the server allows it (gunicorn's default
    sync workers close it after each response). One per thread: a connection is not shared."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 30):
        parts = urlsplit(base_url)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.headers = headers or {}
        self._kept_alive = False  # the last response left the connection open

    def request(
        self, method: str, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        body = None if json is None else jsonlib.dumps(json).encode()
        sent = {"Accept": "application/json", **self.headers, **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        reused = self._kept_alive
        try:
            return self._send(method, BASE + path, body, sent)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The server closed the kept-alive connection while it was idle, before this
            # request reached it: it is sent once more, on a new connection.
            self.connection.close()
            return self._send(method, BASE + path, body, sent)

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Reply:
        self._kept_alive = False
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        self._kept_alive = not response.will_close
        return Reply(response.status, dict(response.getheaders()), data)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Reply:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.connection.close()


# The data ---------------------------------------------------------------------------------


@contextmanager
def committing_app(database_url: str) -> Iterator[Flask]:
    """A second app on ``database_url``, its context pushed: what the factories write inside
    commits for real (the test's own app rolls back). The Celery app current before comes back
    at the end (create_app makes its own current)."""
    previous = current_celery._get_current_object()
    live = create_app(
        "testing",
        {"DATABASE_URL": database_url, "REDIS_URL": None, "RATELIMIT_STORAGE_URL": "memory://"},
    )
    try:
        with live.app_context():
            try:
                yield live
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        previous.set_current()


@contextmanager
def one_transaction() -> Iterator[None]:
    """What is written inside (the factories, ``sign_in_as``) is committed once, at the end,
    instead of once per record: each of their commits only flushes. Tens of families are then
    made in a fraction of a second rather than seconds (every commit stamps the sync clock)."""
    session = db.session
    session.commit = session.flush  # an attribute of this scoped session only, undone below
    try:
        yield
    except BaseException:
        del session.commit
        session.rollback()
        raise
    del session.commit
    session.commit()


def delete_agency(agency_id: uuid.UUID) -> dict[str, int]:
    """Delete one agency and every row that depends on it, at any depth (its users, their
    tokens, sessions and idempotency records; its families and everything recorded for them),
    then commit; the audit trail stays. Answers how many rows went, by table.

    The dependants are found from the schema's foreign keys, so a table added later is
    cleaned as well without a word here. Meant for the small, made-up agency of one test, in a
    ``committing_app``."""
    agencies = db.metadata.tables["agencies"]
    deleted: dict[str, int] = {}
    _delete_with_dependants(
        agencies, select(agencies.c.id).where(agencies.c.id == agency_id), deleted, ()
    )
    db.session.commit()
    return {name: count for name, count in deleted.items() if count}


def _delete_with_dependants(
    table: Table, ids: Select, deleted: dict[str, int], path: tuple[str, ...]
) -> None:
    """Delete the rows of ``table`` whose primary key is in ``ids``, after every row that
    references them. ``path`` is the chain of tables that led here: a reference back into it
    (a user's supervisor, an agency's lead agency) is cleared rather than followed, as
    following it would never end."""
    path = (*path, table.name)
    (table_id,) = table.primary_key.columns
    for child in db.metadata.sorted_tables:
        if child.name in APPEND_ONLY:
            continue
        for key in child.foreign_keys:
            if key.column.table is not table:
                continue
            column = key.parent
            targets = ids if key.column is table_id else select(key.column).where(table_id.in_(ids))
            if child.name in path:
                db.session.execute(
                    update(child).where(column.in_(targets)).values({column.name: None})
                )
            elif len(child.primary_key.columns) == 1:
                (child_id,) = child.primary_key.columns
                child_ids = select(child_id).where(column.in_(targets))
                _delete_with_dependants(child, child_ids, deleted, path)
            else:  # a link table (no single id, so nothing can reference its rows)
                result = db.session.execute(delete(child).where(column.in_(targets)))
                deleted[child.name] = deleted.get(child.name, 0) + result.rowcount
    result = db.session.execute(delete(table).where(table_id.in_(ids)))
    deleted[table.name] = deleted.get(table.name, 0) + result.rowcount


def row_counts() -> dict[str, int]:
    """Rows of every table but the append-only ones, to compare before and after a test."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name not in APPEND_ONLY
    }
