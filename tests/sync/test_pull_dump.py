"""A pull dumps thousands of records a page with a compiled dumper (hvcase/sync/pull.py); it
must give exactly what the kind's schema gives, for every kind the app syncs."""

from __future__ import annotations

from hvcase.extensions import db
from hvcase.sync.entities import ENTITIES
from hvcase.sync.pull import dumper
from tests.factories import FamilyFactory, VisitFactory
from tests.visits import hours_ago


def records_of_each_kind(coalition) -> dict[str, list]:
    family = FamilyFactory(home_visitor=coalition.a.visitor, children=2)
    bare = FamilyFactory(home_visitor=coalition.a.visitor)
    visits = [
        VisitFactory(family=family),
        VisitFactory(
            family=family, status="scheduled", started_at=None, scheduled_for=hours_ago(-30)
        ),
    ]
    db.session.flush()
    families = [family, bare]
    for one in families:
        one.attention = []
    return {
        "family": families,
        "caregiver": [c for f in families for c in f.caregivers],
        "child": family.children,
        "visit": visits,
    }


def test_the_compiled_dump_is_the_schema_dump_for_every_kind(coalition):
    records = records_of_each_kind(coalition)
    assert set(records) >= set(ENTITIES), "give this test a record of each registered kind"
    for name, kind in ENTITIES.items():
        for record in records[name]:
            assert dumper(kind.pulled)(record) == kind.pulled.dump(record), name


def test_every_kind_s_pulled_schema_is_compiled(app):
    """No kind falls back to marshmallow's own dump unnoticed (it would still be right, only
    slower): a schema given dump hooks must say so here."""
    assert ENTITIES
    slow = [name for name, kind in ENTITIES.items() if dumper(kind.pulled) == kind.pulled.dump]
    assert slow == []
