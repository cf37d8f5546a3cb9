"""Screenings and observations as kinds of the write pipeline (hvcase/common/records.py):
what REST's PUT and DELETE and /sync run for them. Importing this module registers them."""

from __future__ import annotations

from hvcase.common.records import Kind, register
from hvcase.screenings import observations, services
from hvcase.screenings.models import Observation, Screening
from hvcase.screenings.schemas import (
    ObservationInSchema,
    ObservationSchema,
    ScreeningInSchema,
    ScreeningSchema,
)

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
OBSERVATION = register(
    Kind(
        name="observation",
        model=Observation,
        rank=5,  # after the child or caregiver it may be about
        body=ObservationInSchema(),
        current=ObservationSchema(),
        pulled=ObservationSchema(),
        find=observations.find_observation,
        upsert=observations.put_observation,
        void=observations.void_observation,
    )
)
