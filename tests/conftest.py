"""Test set-up: the schema is built once per run by the migrations; each test runs in a
transaction that is rolled back (SQLAlchemy's ``join_transaction_mode="create_savepoint"``),
on PostgreSQL when ``HVCASE_TEST_DATABASE_URL`` names one, else on a SQLite file.

``HVCASE_TEST_REDIS_URL`` enables the tests that need a real broker and worker. With
``HVCASE_REQUIRE_SERVICES=1`` (CI), a test that would skip for want of a service fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from hvcase import create_app
from hvcase.extensions import db, limiter
from tests.api import ApiClient, sign_in_as

DATABASE_URL = os.environ.get("HVCASE_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("HVCASE_TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("HVCASE_REQUIRE_SERVICES") == "1"


def need_service(available: object, reason: str) -> None:
    """Skip without the service; in CI (HVCASE_REQUIRE_SERVICES=1), fail instead."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (HVCASE_REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


class FreshContextClient(FlaskClient):
    """Each request gets its own app context, hence its own ``g`` and its own DB session, as
    in a real server: nothing (a signed-in user, an identity map) leaks between requests."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if DATABASE_URL:
        return DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "hvcase-test.sqlite")


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    app = create_app(
        "testing",
        {"DATABASE_URL": database_url, "REDIS_URL": None, "RATELIMIT_STORAGE_URL": "memory://"},
    )
    app.test_client_class = FreshContextClient
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
    return app


@pytest.fixture(autouse=True)
def _transaction(app: Flask) -> Iterator[None]:
    """Every session of the test (the test's own and each request's) joins one outer
    transaction on one connection, rolled back at the end."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        factory = db.session.session_factory
        factory.kw["join_transaction_mode"] = "create_savepoint"
        limiter.reset()
        # Tasks called by name go to the current Celery app; another create_app (a migration
        # test, a worker test) may have made itself current.
        app.extensions["celery"].set_current()
        try:
            yield
        finally:
            db.session.remove()
            engines[None] = engine
            factory.kw.pop("join_transaction_mode", None)
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_as(app: Flask):
    """``api_as(user)``: a client signed in with a bearer token of ``user``."""

    def make(user) -> ApiClient:
        return ApiClient(app.test_client(), sign_in_as(user))

    return make


@pytest.fixture
def coalition():
    from tests.factories import make_coalition

    return make_coalition()


@pytest.fixture
def family(coalition):
    """A family of agency a's home visitor, with one caregiver and one child."""
    from tests.factories import FamilyFactory

    return FamilyFactory(home_visitor=coalition.a.visitor, children=1)


@pytest.fixture
def api(coalition, api_as) -> ApiClient:
    """Agency a's home visitor, signed in (the tablet's user)."""
    return api_as(coalition.a.visitor)
