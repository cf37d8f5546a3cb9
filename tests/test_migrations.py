"""Migrations are the only way the schema is made: they build it on SQLite and PostgreSQL
alike, and go down and up again cleanly on PostgreSQL."""

from __future__ import annotations

import re
import uuid

import flask_migrate
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from hvcase import create_app
from hvcase.extensions import db
from tests.conftest import DATABASE_URL, need_service


def _tables(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _round_trip(url: str) -> None:
    app = create_app("testing", {"DATABASE_URL": url})
    with app.app_context():
        flask_migrate.upgrade()
        models = set(db.metadata.tables)
    assert _tables(app) == models
    with app.app_context():
        flask_migrate.downgrade(revision="base")
    assert _tables(app) == set()
    with app.app_context():
        flask_migrate.upgrade()
    assert _tables(app) == models
    with app.app_context():
        db.engine.dispose()


def test_migrations_build_and_unbuild_the_schema_on_sqlite(tmp_path):
    _round_trip("sqlite:///" + str(tmp_path / "round-trip.sqlite"))


@pytest.fixture
def scratch_postgres():
    need_service(DATABASE_URL, "HVCASE_TEST_DATABASE_URL is not set: no PostgreSQL to migrate")
    url = make_url(DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"hvcase_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_migrations_round_trip_on_postgresql(scratch_postgres):
    _round_trip(scratch_postgres)


def test_the_models_and_the_migrations_agree(app):
    """No model change is left without its migration (autogenerate finds nothing to do)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    connection = db.engines[None]  # the test's connection (see conftest)
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, db.metadata) == []


def test_db_upgrade_says_what_it_did(tmp_path):
    app = create_app("testing", {"DATABASE_URL": "sqlite:///" + str(tmp_path / "cli.sqlite")})
    runner = app.test_cli_runner()

    with app.app_context():  # this app's, not the test database's (pushed by the fixtures)
        first = runner.invoke(args=["db", "upgrade"])
        again = runner.invoke(args=["db", "upgrade"])
        db.engine.dispose()

    assert first.exit_code == 0, first.output
    assert "Running upgrade  -> " in first.output  # from an empty database, each migration
    reached = re.search(r"Database at revision (\w+) \(head\)\.", first.output)
    assert reached, first.output
    assert again.exit_code == 0, again.output
    assert "Running upgrade" not in again.output
    assert f"Database at revision {reached[1]} (head)." in again.output
