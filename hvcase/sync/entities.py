"""What /sync knows of each entity: its model, bodies and the services that change it.

Sync runs the very services the REST endpoints run; nothing here decides a rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import marshmallow as ma

from hvcase.auth.models import User
from hvcase.families import services as families
from hvcase.families.models import Caregiver, Child, Family
from hvcase.families.schemas import (
    CaregiverInSchema,
    CaregiverSchema,
    ChildInSchema,
    ChildSchema,
    FamilyDetailSchema,
    FamilyPutSchema,
    FamilySchema,
)
from hvcase.visits import services as visits
from hvcase.visits.models import Visit
from hvcase.visits.schemas import VisitInSchema, VisitSchema


@dataclass(frozen=True)
class Entity:
    name: str
    rank: int  # order within one change number: a family before its members
    model: type
    body: ma.Schema  # an upsert's data, as for PUT
    current: ma.Schema  # a record as GET returns it (conflicts)
    pulled: ma.Schema  # a record as a pull sends it
    get: Callable[[User, uuid.UUID], Any]  # scoped, or NotFound
    # Many at once, scoped, with what their rules read: a batch's existing records, read
    # together instead of one by one (those left out go through ``get``).
    get_many: Callable[[User, list[uuid.UUID]], dict[uuid.UUID, Any]] | None
    upsert: Callable[[User, uuid.UUID, dict, Any], tuple[Any, bool]]  # with the current record
    void: Callable[[User, Any, str | None], Any]

    def fingerprint(self, record: Any) -> tuple:
        """What changes when the record changes (a family: its members too)."""
        if isinstance(record, Family):
            members = record.caregivers + record.children
            return (record.version, tuple(sorted((str(m.id), m.version) for m in members)))
        return (record.version,)


def _member(model: type) -> dict[str, Callable]:
    return {
        "get": lambda user, member_id: families.get_member(user, model, member_id),
        "get_many": None,
        "upsert": lambda user, member_id, data, current: families.put_member(
            user, model, member_id, data, current
        ),
        "void": families.void_member,
    }


ENTITIES: dict[str, Entity] = {
    "family": Entity(
        "family",
        0,
        Family,
        FamilyPutSchema(),
        FamilyDetailSchema(),
        FamilySchema(),
        get=families.get_family,
        get_many=None,
        upsert=families.put_family,
        void=families.void_family,
    ),
    "caregiver": Entity(
        "caregiver",
        1,
        Caregiver,
        CaregiverInSchema(),
        CaregiverSchema(),
        CaregiverSchema(),
        **_member(Caregiver),
    ),
    "child": Entity(
        "child", 2, Child, ChildInSchema(), ChildSchema(), ChildSchema(), **_member(Child)
    ),
    "visit": Entity(
        "visit",
        3,
        Visit,
        VisitInSchema(),
        VisitSchema(),
        VisitSchema(),
        get=visits.get_visit,
        get_many=visits.visits_in_scope,
        upsert=visits.put_visit,
        void=visits.void_visit,
    ),
}
BY_RANK = {entity.rank: entity for entity in ENTITIES.values()}
