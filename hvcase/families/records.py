"""Families, caregivers and children as kinds of the write pipeline (hvcase/common/records.py):
what REST's PUT and DELETE and /sync run for them. Importing this module registers them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from hvcase.common.records import Kind, register
from hvcase.families import services
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


def family_fingerprint(family: Family) -> tuple:
    """A family changes when it or any caregiver or child listed in it changes."""
    members = family.caregivers + family.children
    return (family.version, tuple(sorted((str(m.id), m.version) for m in members)))


def _member(model: type, name: str, body: Any, out: Any, rank: int) -> Kind:
    return Kind(
        name=name,
        model=model,
        rank=rank,
        body=body,
        current=out,
        pulled=out,
        find=lambda user, member_id: services.get_member(user, model, member_id),
        upsert=lambda user, member_id, data, current: services.put_member(
            user, model, member_id, data, current
        ),
        void=services.void_member,
    )


FAMILY = register(
    Kind(
        name="family",
        model=Family,
        rank=0,
        body=FamilyPutSchema(),
        current=FamilyDetailSchema(),
        pulled=FamilySchema(),
        find=services.get_family,
        upsert=services.put_family,
        void=services.void_family,
        may=services.may_write_family,
        fingerprint=family_fingerprint,
        as_current=services.family_details,
        loader_options=(selectinload(Family.caregivers), selectinload(Family.children)),
        prepare=services.with_attention,
    )
)
CAREGIVER = register(_member(Caregiver, "caregiver", CaregiverInSchema(), CaregiverSchema(), 1))
CHILD = register(_member(Child, "child", ChildInSchema(), ChildSchema(), 2))
