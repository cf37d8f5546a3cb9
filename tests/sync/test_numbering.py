"""Every write to a synced table is numbered by its agency's clock, whatever path it takes
(hvcase/sync/clock.py): an ORM flush, or an INSERT or UPDATE statement run through the session.
And the app writes through nothing else."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import select, update

from hvcase.extensions import db
from hvcase.sync.clock import SyncClock, current_value
from hvcase.visits.models import Visit
from tests.factories import VisitFactory
from tests.sync import keys, pull_all

PACKAGE = Path(__file__).resolve().parents[2] / "hvcase"


def test_an_update_statement_through_the_session_is_numbered_and_pulled(api, family):
    visit = VisitFactory(family=family)
    _changes, cursor, _requests = pull_all(api)
    before = current_value(family.agency_id)

    db.session.execute(update(Visit).where(Visit.id == visit.id).values(notes="Set by a statement"))
    db.session.commit()

    db.session.expire_all()
    stamped = db.session.get(Visit, visit.id)
    assert stamped.change_seq == current_value(family.agency_id) == before + 1
    changes, _cursor, _requests = pull_all(api, cursor)
    assert keys(changes) == [("visit", str(visit.id))]
    assert changes[0]["data"]["notes"] == "Set by a statement"


def test_each_agency_has_its_own_clock(coalition, api, family):
    """A change in agency a moves a's clock only."""
    others = {
        row.agency_id: row.value
        for row in db.session.scalars(
            select(SyncClock).where(SyncClock.agency_id != family.agency_id)
        )
    }
    before = current_value(family.agency_id)

    VisitFactory(family=family)
    db.session.commit()

    assert current_value(family.agency_id) == before + 1
    after = {
        row.agency_id: row.value
        for row in db.session.scalars(
            select(SyncClock).where(SyncClock.agency_id != family.agency_id)
        )
    }
    assert after == others


def test_the_app_writes_through_no_bare_connection():
    """Writes go through the session, where the clock sees them: no module of the app opens a
    connection of its own or runs SQL on one (a write there would never be numbered)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {
                "connect",
                "raw_connection",
                "exec_driver_sql",
            }:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.attr}")
    # The SQLite set-up issues its own BEGIN on each new connection (no data is written).
    assert offenders == [f"hvcase/common/database.py:{_begin_line()} exec_driver_sql"]


def _begin_line() -> int:
    source = (PACKAGE / "common" / "database.py").read_text().splitlines()
    return next(n for n, line in enumerate(source, 1) if "exec_driver_sql" in line)
