"""/visits."""

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
from hvcase.visits import services
from hvcase.visits.records import VISIT
from hvcase.visits.schemas import VisitInSchema, VisitListArgs, VisitPatchSchema, VisitSchema

blp = Blueprint("visits", __name__, url_prefix="/api/v1", description="Home visits")
CONFLICT = "CONFLICT"


@blp.route("/visits")
class Visits(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.arguments(VisitListArgs, location="query")
    @blp.response(200, page_of(VisitSchema))
    def get(self, args: dict) -> Any:
        """Visits of the caller's families, by the visit's time (started, else scheduled),
        newest first. ``from`` and ``to`` are days in the agency's time zone."""
        return paginate(services.visits_for(current_user, args), args)

    @require_family_role(*FAMILY_DATA)
    @idempotent
    @blp.body(VisitInSchema)
    @blp.response(201, VisitSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput) -> Any:
        """Schedule or log a visit."""
        return with_etag(services.create_visit(current_user, body.load()), 201)


@blp.route("/visits/<uuid:visit_id>")
class VisitById(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, VisitSchema)
    def get(self, visit_id: uuid.UUID) -> Any:
        """One visit."""
        return with_etag(services.get_visit(current_user, visit_id))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(VisitPatchSchema)
    @blp.response(200, VisitSchema)
    @blp.alt_response(409, response=CONFLICT)
    def patch(self, body: LazyInput, visit_id: uuid.UUID) -> Any:
        """Change some fields of a visit (any status may be corrected)."""
        visit = records.locate(VISIT, current_user, visit_id, op="edit")
        return with_etag(services.update_visit(current_user, visit, body.load(), replace=False))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(VisitInSchema)
    @blp.response(200, VisitSchema)
    @blp.alt_response(201, schema=VisitSchema, description="Created with this id")
    @blp.alt_response(409, response=CONFLICT)
    def put(self, body: LazyInput, visit_id: uuid.UUID) -> Any:
        """Create the visit with this id (201) or replace it (200); repeating changes nothing."""
        visit, created = records.put_by_id(VISIT, current_user, visit_id, body.load)
        return with_etag(visit, 201 if created else 200)

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.query(VoidArgs)
    @blp.response(200, VisitSchema)
    def delete(self, args: LazyInput, visit_id: uuid.UUID) -> Any:
        """Void the visit (never deleted); repeating it changes nothing."""
        visit = records.locate(VISIT, current_user, visit_id, op="void")
        return with_etag(records.void(VISIT, current_user, visit, args.load().get("reason")))
