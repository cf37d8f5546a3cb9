"""One example per entity /sync records, for the contract tests every entity must pass
(test_registry_contract.py).

Registering an entity in ``hvcase.sync.entities.ENTITIES`` without an example here fails
``test_every_registered_entity_has_an_example``; adding the example gives the new entity
every contract test at once (scope, replays, conflicts, arrivals and removals).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families.models import Family
from hvcase.organisations.models import Agency
from tests.factories import (
    CaregiverFactory,
    ChildFactory,
    ObservationFactory,
    ScreeningFactory,
    UserFactory,
    VisitFactory,
)
from tests.families import caregiver_body, child_body
from tests.sync import household, visit_of


@dataclass(frozen=True)
class Example:
    """How the tests make, read and change one entity's records."""

    path: str  # its REST collection: GET ``{path}/{id}`` answers one record
    # A new record for ``family`` (a family in the caller's scope): its id and its body as an
    # upsert (or a PUT) sends it. The family entity makes a new household of the same home
    # visitor.
    new: Callable[[Family], tuple[uuid.UUID, dict[str, Any]]]
    # An existing record of ``family``, made with the factories (the family entity: the
    # family itself). Its version is 1.
    existing: Callable[[Family], Any]
    # A writable field and two different values for it that are neither of them the value the
    # factories give: an edit of a record as GET returns it (two, for two users' edits).
    field: str
    values: tuple[Any, Any]
    # The role whose user voids the record in the tests (a home visitor may not void a family).
    void_role: str = "home_visitor"
    # The lists of records nested in its body, each with the entity its items are (an entity
    # with an example of its own), whose ``version`` a change is checked against (API.md, Sync,
    # "Nested records").
    nested: tuple[tuple[str, str], ...] = ()

    def edit(self, body: dict[str, Any], which: int = 0) -> dict[str, Any]:
        """``body`` (as GET answers it) with the example's field set to its value ``which``."""
        return {**body, self.field: self.values[which]}


def _new_family(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    agency = db.session.get(Agency, family.agency_id)
    assigned = (
        {} if family.home_visitor_id is None else {"home_visitor_id": str(family.home_visitor_id)}
    )
    body = household(agency, **assigned)
    return uuid.UUID(body["id"]), body


def _new_caregiver(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    return uuid.uuid4(), caregiver_body(family_id=str(family.id))


def _new_child(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    return uuid.uuid4(), child_body(family_id=str(family.id))


def _visit(family: Family) -> Any:
    """A completed visit; an unassigned family's by a home visitor of its agency (a visit
    always has one)."""
    if family.home_visitor_id is not None:
        return VisitFactory(family=family)
    agency = db.session.get(Agency, family.agency_id)
    return VisitFactory(family=family, home_visitor_id=UserFactory(agency=agency).id)


def _new_visit(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    return uuid.uuid4(), visit_of(family.id)


def _caregiver_of(family: Family) -> Any:
    """A caregiver of the family (one is made when it has none)."""
    live = [c for c in family.caregivers if c.voided_at is None]
    return live[0] if live else CaregiverFactory(family=family)


def _screening(family: Family) -> Any:
    """A PHQ-9 of a caregiver; an unassigned family's given by a home visitor of its agency."""
    caregiver = _caregiver_of(family)
    if family.home_visitor_id is not None:
        return ScreeningFactory(caregiver=caregiver)
    agency = db.session.get(Agency, family.agency_id)
    return ScreeningFactory(caregiver=caregiver, administered_by=UserFactory(agency=agency).id)


def _new_screening(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    return uuid.uuid4(), {
        "instrument": "phq9",
        "caregiver_id": str(_caregiver_of(family).id),
        "administered_on": (utcnow().date() - timedelta(days=3)).isoformat(),
        "responses": [1, 0, 0, 0, 0, 0, 0, 0, 0],
    }


def _child_of(family: Family) -> Any:
    """A child of the family (one is made when it has none)."""
    live = [c for c in family.children if c.voided_at is None]
    return live[0] if live else ChildFactory(family=family)


def _observation(family: Family) -> Any:
    """Reading days of a child; an unassigned family's recorded by a home visitor of its
    agency."""
    child = _child_of(family)
    if family.home_visitor_id is not None:
        return ObservationFactory(child=child)
    agency = db.session.get(Agency, family.agency_id)
    return ObservationFactory(child=child, recorded_by=UserFactory(agency=agency).id)


def _new_observation(family: Family) -> tuple[uuid.UUID, dict[str, Any]]:
    return uuid.uuid4(), {
        "family_id": str(family.id),
        "subject_id": str(_child_of(family).id),
        "code": "early_language_activity",
        "value": 4,
        "observed_on": (utcnow().date() - timedelta(days=3)).isoformat(),
    }


EXAMPLES: dict[str, Example] = {
    "family": Example(
        path="/families",
        new=_new_family,
        existing=lambda family: family,
        field="household_size",
        values=(5, 6),
        void_role="supervisor",
        nested=(("caregivers", "caregiver"), ("children", "child")),
    ),
    "caregiver": Example(
        path="/caregivers",
        new=_new_caregiver,
        existing=lambda family: CaregiverFactory(family=family, relationship_to_child="father"),
        field="first_name",
        values=("Rosa", "Rita"),
    ),
    "child": Example(
        path="/children",
        new=_new_child,
        existing=lambda family: ChildFactory(family=family),
        field="first_name",
        values=("Tomás", "Teo"),
    ),
    "visit": Example(
        path="/visits",
        new=_new_visit,
        existing=_visit,
        field="notes",
        values=("Brought books", "Read together"),
    ),
    "screening": Example(
        path="/screenings",
        new=_new_screening,
        existing=_screening,
        field="responses",
        values=([2, 1, 0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0]),
    ),
    "observation": Example(
        path="/observations",
        new=_new_observation,
        existing=_observation,
        field="value",
        values=(5, 6),
    ),
}


def missing_examples(names: object) -> list[str]:
    """The registered entity names with no example here, sorted."""
    return sorted(set(names) - set(EXAMPLES))  # type: ignore[arg-type]


def how_to_add(names: list[str]) -> str:
    """What the author of a new entity must add, said where the failure shows."""
    return (
        f"/sync records {', '.join(names)} but tests/sync/examples.py has no example for "
        f"{'it' if len(names) == 1 else 'them'}: add an Example to EXAMPLES (its REST path, "
        "a new record's id and upsert body for a family, an existing record made with the "
        "factories, a writable field with two values, the role that voids it, its nested "
        "lists if any). Every contract test of test_registry_contract.py then runs on it."
    )


def example_of(entity: str) -> Example:
    """The entity's example; a test of an entity without one fails, saying what to add."""
    if entity not in EXAMPLES:
        pytest.fail(how_to_add([entity]))
    return EXAMPLES[entity]
