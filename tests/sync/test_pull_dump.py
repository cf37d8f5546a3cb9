"""A pull dumps thousands of records a page with a compiled dumper (hvcase/sync/pull.py); it
must give exactly what the kind's schema gives, for every kind the app syncs."""

from __future__ import annotations

from hvcase.extensions import db
from hvcase.sync import dump
from hvcase.sync.dump import dumper
from hvcase.sync.entities import ENTITIES
from tests.factories import FamilyFactory, ObservationFactory, ScreeningFactory, VisitFactory
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
    carer = family.caregivers[0]
    screenings = [
        ScreeningFactory(caregiver=carer),
        ScreeningFactory(
            caregiver=carer,
            caregiver_id=None,
            child_id=family.children[0].id,
            instrument="asq3",
            interval=12,
            responses=None,
            domain_scores={"communication": 37.5, "gross_motor": 60, "fine_motor": None},
            total=None,
            zones={"communication": "monitoring", "gross_motor": "above", "fine_motor": None},
            result="negative",
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
        "screening": screenings,
        "observation": [
            ObservationFactory(child=family.children[0]),
            ObservationFactory(
                child=family.children[0],
                code="birth",
                value={"gestational_age_weeks": 35, "birth_weight_grams": 2400},
            ),
        ],
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


def test_what_a_pull_reads_is_what_the_schema_dumps_for_every_kind(coalition):
    """A pull reads most kinds as plain rows and dumps them itself (hvcase/sync/dump.py): for
    each record it must send the version, whether it is voided and, unless it is, what the
    schema dumps of the ORM object."""
    records = records_of_each_kind(coalition)
    records["visit"][1].voided_at = hours_ago(1)
    records["visit"][1].void_reason = "Booked twice"
    db.session.flush()
    user = coalition.a.visitor
    for name, kind in ENTITIES.items():
        sent = dump.read(kind, user, [record.id for record in records[name]])
        expected = {
            record.id: (record.version, True, None)
            if record.voided_at is not None
            else (record.version, False, kind.pulled.dump(record))
            for record in records[name]
        }
        assert sent == expected, name
    assert sent[records["visit"][1].id][1] is True


def test_kinds_without_extras_are_read_as_rows(app):
    """Only a kind that loads or fills in more with its records pays for ORM objects."""
    as_rows = {name for name, kind in ENTITIES.items() if dump._row_plan(kind) is not None}
    assert as_rows == {"caregiver", "child", "visit", "screening", "observation"}
