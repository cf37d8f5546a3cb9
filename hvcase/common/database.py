"""Engine set-up that makes SQLite behave: foreign keys on, and real SAVEPOINTs.

pysqlite's own transaction handling does not emit BEGIN before a SAVEPOINT; SQLAlchemy's
documented recipe takes over BEGIN so that nested transactions (one per /sync change) work.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from hvcase.extensions import db


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def prepare_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_connect):
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def init_app(app: Flask) -> None:
    with app.app_context():
        prepare_engine(db.engine)
