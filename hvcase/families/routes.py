"""/families, /caregivers, /children."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from flask_login import current_user
from marshmallow import Schema

from hvcase.common import records
from hvcase.common.api import Blueprint, LazyInput
from hvcase.common.idempotency import idempotent
from hvcase.common.pagination import paginate
from hvcase.common.records import Kind
from hvcase.common.schemas import page_of
from hvcase.common.versioning import if_match, with_etag
from hvcase.families import services
from hvcase.families.models import Caregiver, Child
from hvcase.families.policy import ASSIGN, FAMILY_DATA, require_family_role
from hvcase.families.records import CAREGIVER, CHILD, FAMILY
from hvcase.families.schemas import (
    AssignmentInSchema,
    AssignmentSchema,
    CaregiverInSchema,
    CaregiverPatchSchema,
    CaregiverSchema,
    ChildInSchema,
    ChildPatchSchema,
    ChildSchema,
    DischargeInSchema,
    EnrollmentInSchema,
    EnrollmentSchema,
    FamilyCreateSchema,
    FamilyDetailSchema,
    FamilyListArgs,
    FamilyPatchSchema,
    FamilyPutSchema,
    FamilySchema,
    MemberListArgs,
    VoidArgs,
)

blp = Blueprint("families", __name__, url_prefix="/api/v1", description="Families")
CONFLICT = "CONFLICT"


@blp.route("/families")
class Families(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.arguments(FamilyListArgs, location="query")
    @blp.response(200, page_of(FamilySchema))
    def get(self, args: dict) -> Any:
        """The caller's families, by primary caregiver's last name, then id."""
        page = paginate(services.families_for(current_user, args), args)
        services.with_attention(current_user, page["items"])
        return page

    @require_family_role(*FAMILY_DATA)
    @idempotent
    @blp.body(FamilyCreateSchema)
    @blp.response(201, FamilySchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput) -> Any:
        """Enroll a household: caregivers (one primary), children, pregnancy; all or nothing.
        409 when the primary caregiver matches an enrolled family, unless confirmed."""
        return with_etag(services.enroll(current_user, body.load()), 201)


@blp.route("/families/<uuid:family_id>")
class FamilyById(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.response(200, FamilyDetailSchema)
    def get(self, family_id: uuid.UUID) -> Any:
        """One family, with its members and what is next for it (audited)."""
        family = services.get_family(current_user, family_id, read=True)
        return with_etag(services.family_details(family))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(FamilyPatchSchema)
    @blp.response(200, FamilySchema)
    @blp.alt_response(409, response=CONFLICT)
    def patch(self, body: LazyInput, family_id: uuid.UUID) -> Any:
        """Change family-level fields."""
        family = records.locate(FAMILY, current_user, family_id, op="edit")
        return with_etag(services.update_family(current_user, family, body.load()))

    @require_family_role(*FAMILY_DATA)
    @if_match
    @blp.body(FamilyPutSchema)
    @blp.response(200, FamilySchema)
    @blp.alt_response(201, schema=FamilySchema, description="Created with this id")
    @blp.alt_response(409, response=CONFLICT)
    def put(self, body: LazyInput, family_id: uuid.UUID) -> Any:
        """Create the family with this id (201), or replace its family-level fields and upsert
        the listed caregivers and children (200). Repeating it changes nothing."""
        family, created = records.put_by_id(FAMILY, current_user, family_id, body.load)
        return with_etag(family, 201 if created else 200)

    @require_family_role(*FAMILY_DATA)  # voiding: VOID_FAMILY roles, the pipeline's role step
    @if_match
    @blp.query(VoidArgs)
    @blp.response(200, FamilySchema)
    def delete(self, args: LazyInput, family_id: uuid.UUID) -> Any:
        """Void the family (supervisors and agency admins; never deleted); repeating it
        changes nothing."""
        family = records.locate(FAMILY, current_user, family_id, op="void")
        return with_etag(records.void(FAMILY, current_user, family, args.load().get("reason")))


@blp.route("/families/<uuid:family_id>/assignment")
class FamilyAssignment(MethodView):
    @require_family_role(*ASSIGN)
    @blp.body(AssignmentInSchema)
    @blp.response(200, FamilySchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput, family_id: uuid.UUID) -> Any:
        """Assign the family to a home visitor or supervisor of its agency (kept as history)."""
        family = services.get_family(current_user, family_id, write=True)
        data = body.load()
        family = services.assign(current_user, family, data["home_visitor_id"], data.get("note"))
        return with_etag(family)


@blp.route("/families/<uuid:family_id>/assignments")
class FamilyAssignments(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.query(MemberListArgs)
    @blp.response(200, page_of(AssignmentSchema))
    def get(self, args: LazyInput, family_id: uuid.UUID) -> Any:
        """The family's assignment history, newest first."""
        family = services.get_family(current_user, family_id)
        return paginate(services.assignments(family), args.load())


@blp.route("/families/<uuid:family_id>/discharge")
class FamilyDischarge(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.body(DischargeInSchema)
    @blp.response(200, FamilySchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput, family_id: uuid.UUID) -> Any:
        """Discharge the family with a reason and date."""
        family = services.get_family(current_user, family_id, write=True)
        return with_etag(services.discharge(current_user, family, body.load()))


@blp.route("/families/<uuid:family_id>/enrollments")
class FamilyEnrollments(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.query(MemberListArgs)
    @blp.response(200, page_of(EnrollmentSchema))
    def get(self, args: LazyInput, family_id: uuid.UUID) -> Any:
        """The family's enrollment episodes, newest first."""
        family = services.get_family(current_user, family_id)
        return paginate(services.episodes(family), args.load())

    @require_family_role(*ASSIGN)
    @idempotent
    @blp.body(EnrollmentInSchema)
    @blp.response(201, EnrollmentSchema)
    @blp.alt_response(409, response=CONFLICT)
    def post(self, body: LazyInput, family_id: uuid.UUID) -> Any:
        """Re-enroll a discharged family: a new episode; the history is kept."""
        family = services.get_family(current_user, family_id, write=True)
        return services.reenroll(current_user, family, body.load())


def _member_routes(
    kind: Kind,
    model: type,
    name: str,
    plural: str,
    in_schema: type[Schema],
    patch_schema: type[Schema],
    out_schema: type[Schema],
) -> None:
    """The same endpoints for caregivers and children."""

    @blp.route(f"/families/<uuid:family_id>/{plural}", endpoint=f"Family{plural.title()}")
    class FamilyMembers(MethodView):
        @require_family_role(*FAMILY_DATA)
        @blp.query(MemberListArgs)
        @blp.response(200, page_of(out_schema))
        def get(self, args: LazyInput, family_id: uuid.UUID) -> Any:
            family = services.get_family(current_user, family_id)
            query = args.load()
            return paginate(services.members_of(family, model, query["include_voided"]), query)

        @require_family_role(*FAMILY_DATA)
        @idempotent
        @blp.body(in_schema)
        @blp.response(201, out_schema)
        @blp.alt_response(409, response=CONFLICT)
        def post(self, body: LazyInput, family_id: uuid.UUID) -> Any:
            family = services.get_family(current_user, family_id, write=True)
            return with_etag(services.add_member(current_user, family, model, body.load()), 201)

    @blp.route(f"/{plural}/<uuid:member_id>", endpoint=f"{name.title()}ById")
    class MemberById(MethodView):
        @require_family_role(*FAMILY_DATA)
        @blp.response(200, out_schema)
        def get(self, member_id: uuid.UUID) -> Any:
            return with_etag(services.get_member(current_user, model, member_id, read=True))

        @require_family_role(*FAMILY_DATA)
        @if_match
        @blp.body(patch_schema)
        @blp.response(200, out_schema)
        @blp.alt_response(409, response=CONFLICT)
        def patch(self, body: LazyInput, member_id: uuid.UUID) -> Any:
            member = records.locate(kind, current_user, member_id, op="edit")
            return with_etag(
                services.update_member(current_user, member, body.load(), replace=False)
            )

        @require_family_role(*FAMILY_DATA)
        @if_match
        @blp.body(in_schema)
        @blp.response(200, out_schema)
        @blp.alt_response(201, schema=out_schema, description="Created with this id")
        @blp.alt_response(409, response=CONFLICT)
        def put(self, body: LazyInput, member_id: uuid.UUID) -> Any:
            member, created = records.put_by_id(kind, current_user, member_id, body.load)
            return with_etag(member, 201 if created else 200)

        @require_family_role(*FAMILY_DATA)
        @if_match
        @blp.query(VoidArgs)
        @blp.response(200, out_schema)
        @blp.alt_response(409, response=CONFLICT)
        def delete(self, args: LazyInput, member_id: uuid.UUID) -> Any:
            member = records.locate(kind, current_user, member_id, op="void")
            return with_etag(records.void(kind, current_user, member, args.load().get("reason")))

    FamilyMembers.__doc__ = f"The {plural} of a family."
    MemberById.__doc__ = f"One {name}."


_member_routes(
    CAREGIVER,
    Caregiver,
    "caregiver",
    "caregivers",
    CaregiverInSchema,
    CaregiverPatchSchema,
    CaregiverSchema,
)
_member_routes(CHILD, Child, "child", "children", ChildInSchema, ChildPatchSchema, ChildSchema)
