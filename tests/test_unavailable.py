"""Every way the database can fail a request for want of the database is a 503 problem+json
with ``Retry-After`` (API.md, Conventions), and the OpenAPI document declares it for every
operation; a database error that is a bug stays a 500. tests/test_outage.py stops a real
database under load; here each failure is raised where it would surface, on either engine."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from hvcase.audit.models import AuditEvent
from hvcase.extensions import db
from hvcase.visits import services as visit_services
from hvcase.visits.models import Visit
from tests.api import BASE, assert_problem
from tests.visits import completed_visit


class DriverError(Exception):
    """Stands for the driver's own exception, which SQLAlchemy wraps."""


def dead_connection() -> DBAPIError:
    """A driver error on a connection SQLAlchemy found dead (and invalidated)."""
    return DBAPIError(
        "SELECT 1", {}, DriverError("server closed the connection"), connection_invalidated=True
    )


UNAVAILABLE = {
    "unreachable": lambda: OperationalError("SELECT 1", {}, DriverError("connection refused")),
    "a closed connection": lambda: InterfaceError("SELECT 1", {}, DriverError("closed")),
    "a connection found dead": dead_connection,
    "no pooled connection in time": lambda: PoolTimeout("QueuePool limit reached"),
}


def raiser(error: Exception) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


def assert_unavailable(response: Any) -> None:
    assert_problem(response, 503)
    assert response.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("failure", UNAVAILABLE)
def test_a_database_out_of_reach_during_a_request_is_a_503(api, family, monkeypatch, failure):
    monkeypatch.setattr(visit_services, "visits_for", raiser(UNAVAILABLE[failure]()))

    assert_unavailable(api.get(f"/visits?family_id={family.id}"))


@pytest.mark.parametrize("failure", UNAVAILABLE)
def test_a_commit_that_fails_for_want_of_the_database_is_a_503_and_nothing_is_written(
    api, family, monkeypatch, failure
):
    monkeypatch.setattr(db.session, "commit", raiser(UNAVAILABLE[failure]()))

    assert_unavailable(api.post("/visits", json=completed_visit(family)))
    assert db.session.scalars(select(Visit)).all() == []


def test_a_refusal_whose_audit_event_cannot_be_written_is_a_503(coalition, client, monkeypatch):
    # A failed sign-in is audited after the rollback, in a commit of its own: it fails too.
    events = len(db.session.scalars(select(AuditEvent)).all())
    monkeypatch.setattr(db.session, "commit", raiser(dead_connection()))

    response = client.post(
        f"{BASE}/auth/tokens",
        json={"email": "a.hv@example.org", "password": "not the password", "device_name": "x"},
    )

    assert_unavailable(response)
    monkeypatch.undo()
    assert len(db.session.scalars(select(AuditEvent)).all()) == events


def test_a_database_error_that_is_a_bug_stays_a_500(api, family, monkeypatch):
    # A value the database refuses is the app's mistake: retrying it would not help.
    bug = DataError("INSERT ...", {}, DriverError("value out of range"))
    monkeypatch.setattr(visit_services, "visits_for", raiser(bug))

    response = api.get(f"/visits?family_id={family.id}")

    assert_problem(response, 500)
    assert "Retry-After" not in response.headers


def test_the_health_check_says_when_to_retry(client, monkeypatch):
    monkeypatch.setattr(db.session, "execute", raiser(UNAVAILABLE["unreachable"]()))

    assert_unavailable(client.get(f"{BASE}/health"))


def test_every_operation_declares_the_503_and_its_retry_after(client):
    spec = client.get(f"{BASE}/openapi.json").get_json()
    operations = [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 20
    for method, path, operation in operations:
        assert "503" in operation["responses"], f"{method.upper()} {path}"
    declared = spec["components"]["responses"]["SERVICE_UNAVAILABLE"]
    assert declared["headers"]["Retry-After"]["required"] is True
    assert "application/problem+json" in declared["content"]


def test_a_failed_statement_s_error_and_log_line_hold_none_of_its_values(app):
    """Parameters are family data (a screening's answers): the engine hides them from every
    error message, and so from the log line of a 503 or a 500."""
    from sqlalchemy import text

    secret = "answers of a depression screen"
    # OperationalError on SQLite, ProgrammingError on PostgreSQL: both DBAPIErrors.
    with pytest.raises(DBAPIError) as failed, db.session.begin_nested():
        db.session.execute(text("INSERT INTO no_such_table VALUES (:secret)"), {"secret": secret})

    assert secret not in str(failed.value)
    assert "hidden" in str(failed.value)
