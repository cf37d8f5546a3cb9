"""The benchmark: a data set at the scale of DESIGN.md's performance targets, and timings of the
API against it, each printed as a ratio to a bare endpoint of the same app measured in the same
run (absolute times on shared machines drift).

``python -m bench`` (or ``make bench``) seeds and measures; ``python -m bench.seed`` only seeds.
It runs on its own PostgreSQL database, ``HVCASE_BENCH_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/hvcase_bench``), created if missing and wiped by every
seeding. ``HVCASE_BENCH_SKIP_SEED=1`` measures the data already there.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hvcase import create_app, database_url

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
    return create_app(
        "testing",
        {"DATABASE_URL": url, "REDIS_URL": None, "RATELIMIT_STORAGE_URL": "memory://"},
    )
