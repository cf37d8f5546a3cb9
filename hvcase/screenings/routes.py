"""/instruments, /children/{id}/age and /schedule, /screenings."""

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
from hvcase.screenings import services
from hvcase.screenings.catalog import catalog
from hvcase.screenings.records import SCREENING
from hvcase.screenings.schemas import (
    AgeArgs,
    AgeSchema,
    InstrumentsSchema,
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
        known = catalog()
        return {
            "items": [known.instruments[code].describe() for code in sorted(known.instruments)],
            "cutoffs_example": known.cutoffs.is_example,
        }


@blp.route("/children/<uuid:child_id>/age")
class ChildAge(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.arguments(AgeArgs, location="query")
    @blp.response(200, AgeSchema)
    def get(self, args: dict, child_id: uuid.UUID) -> Any:
        """The child's chronological age, and corrected age where it applies, in months and
        days on ``on`` (default: today in the agency's time zone)."""
        return services.child_age(current_user, child_id, args.get("on"))


@blp.route("/children/<uuid:child_id>/schedule")
class ChildSchedule(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, ScheduleSchema)
    def get(self, child_id: uuid.UUID) -> Any:
        """Every interval the agency requires: its window (from corrected age where it
        applies) and its status today."""
        return services.child_schedule(current_user, child_id)


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
