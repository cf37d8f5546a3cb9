"""Screenings as a kind of the write pipeline (hvcase/common/records.py): what REST's PUT and
DELETE and /sync run for them. Importing this module registers it."""

from __future__ import annotations

from hvcase.common.records import Kind, register
from hvcase.screenings import services
from hvcase.screenings.models import Screening
from hvcase.screenings.schemas import ScreeningInSchema, ScreeningSchema

SCREENING = register(
    Kind(
        name="screening",
        model=Screening,
        rank=4,  # after the child or caregiver it is about
        body=ScreeningInSchema(),
        current=ScreeningSchema(),
        pulled=ScreeningSchema(),
        find=services.find_screening,
        upsert=services.put_screening,
        void=services.void_screening,
    )
)
