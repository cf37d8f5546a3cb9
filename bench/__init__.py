"""The benchmark: a data set at the scale of DESIGN.md's performance targets, and timings of the
API against it, each printed as a ratio to a bare endpoint of the same app measured in the same
run (absolute times on shared machines drift).

``python -m bench`` (or ``make bench``) seeds and measures: the family list, then sync
(bench/sync.py); ``python -m bench.seed`` only seeds; ``python -m bench.sync`` only measures
sync (seeding first when the data set is not there).
It runs on its own PostgreSQL database, ``HVCASE_BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/hvcase_bench``), created if missing and wiped by every
seeding. ``HVCASE_BENCH_SKIP_SEED=1`` measures the data already there.
"""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url

from hvcase import create_app, database_url
from hvcase.auth.models import ApiToken, User
from hvcase.auth.services import TOKEN_PREFIX, hash_token
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.serving import tune_garbage_collection

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/hvcase_bench"
# Databases the benchmark must never wipe: the test suite's.
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})


def bench_database_url() -> str:
    url = os.environ.get("HVCASE_BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
    name = make_url(database_url(url)).database
    if not url.startswith(("postgresql://", "postgres://")):
        raise SystemExit("HVCASE_BENCH_DATABASE_URL must name a PostgreSQL database.")
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"Refusing to benchmark in the database {name!r}: it is wiped.")
    return url


def ensure_database(url: str) -> None:
    """Create the benchmark's database unless it exists (CREATE DATABASE needs autocommit)."""
    target = make_url(database_url(url))
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        engine.dispose()


def make_app(url: str) -> Flask:
    """The app as a server would run it, on the benchmark's database. The testing profile only
    makes the one password hash cheap; nothing else it changes is on a measured path."""
    app = create_app(
        "testing",
        {"DATABASE_URL": url, "REDIS_URL": None, "RATELIMIT_STORAGE_URL": "memory://"},
    )
    tune_garbage_collection(app)  # as wsgi.py does for a served process
    return app


class SqlMeter:
    """Counts and times every statement the engine sends; can record them for EXPLAIN."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.seconds = 0.0
        self.recorded: list[tuple[str, Any]] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.count += 1
        conn.info["bench_started"] = time.perf_counter()
        if self.recorded is not None:
            self.recorded.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.seconds += time.perf_counter() - conn.info.pop("bench_started", time.perf_counter())


def bearer_for(email: str) -> dict[str, str]:
    """A live bearer token for the user (as the test suite's ``sign_in_as`` makes one)."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise SystemExit(f"No user {email}: seed the benchmark database first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(24)
    db.session.add(
        ApiToken(
            user_id=user.id,
            device_name="benchmark",
            token_hash=hash_token(secret),
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}
