"""/instruments, /children/{id}/age and /schedule, /screenings, /observations."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_login import current_user

from hvcase.common import records
from hvcase.common.api import Blueprint, LazyInput
from hvcase.common.idempotency import idempotent
from hvcase.common.pagination import paginate
from hvcase.common.schemas import page_of
from hvcase.common.versioning import if_match, with_etag
from hvcase.families.policy import FAMILY_DATA, require_family_role
from hvcase.families.schemas import VoidArgs
from hvcase.screenings import observations, services
from hvcase.screenings.records import OBSERVATION, SCREENING
from hvcase.screenings.schemas import (
    AgeArgs,
    AgeSchema,
    InstrumentsSchema,
    ObservationInSchema,
    ObservationListArgs,
    ObservationSchema,
    ScheduleSchema,
    ScreeningInSchema,
    ScreeningListArgs,
    ScreeningSchema,
)

blp = Blueprint(
    "screenings",
    __name__,
    url_prefix="/api/v1",
    description="Developmental benchmarks and screenings",
)
CONFLICT = "CONFLICT"


@blp.route("/instruments")
class Instruments(MethodView):
    @blp.response(200, InstrumentsSchema)
    def get(self) -> Any:
        """The instruments this deployment knows, with their items, intervals and scoring;
        ``cutoffs_example`` is true while ASQ zones come from the shipped example cutoffs."""
        return services.instruments()


@blp.route("/children/<uuid:child_id>/age")
class ChildAge(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.query(AgeArgs)
    @blp.response(200, AgeSchema)
    def get(self, args: LazyInput, child_id: uuid.UUID) -> Any:
        """The child's chronological age, and corrected age where it applies, in months and
        days on ``on`` (default: today in the agency's time zone)."""
        child = services.get_child(current_user, child_id)  # a 404 before the query's 422
        return services.child_age(current_user, child, args.load().get("on"))


@blp.route("/children/<uuid:child_id>/schedule")
class ChildSchedule(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, ScheduleSchema)
    def get(self, child_id: uuid.UUID) -> Any:
        """Every interval the agency requires: its window (from corrected age where it
        applies) and its status today."""
        return services.child_schedule(current_user, services.get_child(current_user, child_id))


@blp.route("/screenings")
class Screenings(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.arguments(ScreeningListArgs, location="query")
    @blp.response(200, page_of(ScreeningSchema))
    def get(self, args: dict) -> Any:
        """Screenings of the caller's families, newest first."""
        return paginate(services.screenings_for(current_user, args), args)

    @require_family_role(*FAMILY_DATA)
    @idempotent
    @blp.body(ScreeningInSchema)
    @blp.response(201, ScreeningSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput) -> Any:
        """Record a screening; the server scores it (and alerts the supervisor at once when
        it is urgent)."""
        return with_etag(services.create_screening(current_user, body.load()), 201)


@blp.route("/screenings/<uuid:screening_id>")
class ScreeningById(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, ScreeningSchema)
    def get(self, screening_id: uuid.UUID) -> Any:
        """One screening (every read is audited)."""
        return with_etag(services.get_screening(current_user, screening_id))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(ScreeningInSchema)
    @blp.response(200, ScreeningSchema)
    @blp.alt_response(201, schema=ScreeningSchema, description="Created with this id")
    @blp.alt_response(409, response=CONFLICT)
    def put(self, body: LazyInput, screening_id: uuid.UUID) -> Any:
        """Create the screening with this id (201) or replace it, scored again (200);
        repeating changes nothing."""
        screening, created = records.put_by_id(SCREENING, current_user, screening_id, body.load)
        return with_etag(screening, 201 if created else 200)

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.query(VoidArgs)
    @blp.response(200, ScreeningSchema)
    def delete(self, args: LazyInput, screening_id: uuid.UUID) -> Any:
        """Void the screening (never deleted); repeating it changes nothing."""
        screening = records.locate(SCREENING, current_user, screening_id, op="void")
        return with_etag(
            records.void(SCREENING, current_user, screening, args.load().get("reason"))
        )


@blp.route("/observations")
class Observations(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.arguments(ObservationListArgs, location="query")
    @blp.response(200, page_of(ObservationSchema))
    def get(self, args: dict) -> Any:
        """Observations of the caller's families, newest first; ``from`` and ``to`` are days."""
        return paginate(observations.observations_for(current_user, args), args)

    @require_family_role(*FAMILY_DATA)
    @idempotent
    @blp.body(ObservationInSchema)
    @blp.response(201, ObservationSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput) -> Any:
        """Record a dated fact about the family, one of its children or caregivers."""
        return with_etag(observations.create_observation(current_user, body.load()), 201)


@blp.route("/observations/<uuid:observation_id>")
class ObservationById(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, ObservationSchema)
    def get(self, observation_id: uuid.UUID) -> Any:
        """One observation."""
        return with_etag(observations.get_observation(current_user, observation_id))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(ObservationInSchema)
    @blp.response(200, ObservationSchema)
    @blp.alt_response(201, schema=ObservationSchema, description="Created with this id")
    @blp.alt_response(409, response=CONFLICT)
    def put(self, body: LazyInput, observation_id: uuid.UUID) -> Any:
        """Create the observation with this id (201) or replace it (200); repeating changes
        nothing."""
        observation, created = records.put_by_id(
            OBSERVATION, current_user, observation_id, body.load
        )
        return with_etag(observation, 201 if created else 200)

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.query(VoidArgs)
    @blp.response(200, ObservationSchema)
    def delete(self, args: LazyInput, observation_id: uuid.UUID) -> Any:
        """Void the observation (never deleted); repeating it changes nothing."""
        observation = records.locate(OBSERVATION, current_user, observation_id, op="void")
        reason = args.load().get("reason")
        return with_etag(records.void(OBSERVATION, current_user, observation, reason))
