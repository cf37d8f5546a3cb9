"""Engine set-up that makes SQLite behave: foreign keys on, real SAVEPOINTs, and writers that
wait their turn.

pysqlite's own transaction handling does not emit BEGIN before a SAVEPOINT; SQLAlchemy's
documented recipe takes over BEGIN so that nested transactions (one per /sync change) work.

Every transaction begins IMMEDIATE, taking the write lock at once and waiting for it (the busy
timeout) instead of failing: in WAL mode a transaction that reads first and writes later
cannot wait for the lock (SQLite answers "database is locked" at once, since its snapshot may
be stale), and nearly every request writes (an audit event, if nothing else). Past the
timeout the answer is a 503 with Retry-After (hvcase/common/errors.py), never a 500. One
writer at a time is what the embedded default is for: a small program's few tablets.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from hvcase.extensions import db

# How long a SQLite writer waits for its turn, unless SQLITE_BUSY_TIMEOUT_MS says otherwise
# (DESIGN.md: at least 5 s; a test may set less to reach the 503 quickly).
BUSY_TIMEOUT_MS = 10_000


def _sqlite_connect(dbapi_connection: Any, busy_timeout_ms: int) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def prepare_engine(engine: Engine, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    if engine.dialect.name != "sqlite" or event.contains(engine, "begin", _sqlite_begin):
        return

    def connect(dbapi_connection: Any, _record: Any) -> None:
        _sqlite_connect(dbapi_connection, busy_timeout_ms)

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", _sqlite_begin)


def init_app(app: Flask) -> None:
    with app.app_context():
        prepare_engine(db.engine, app.config.get("SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))
