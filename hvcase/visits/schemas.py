"""Visit bodies (API.md, Visits)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import (
    Boolean,
    Date,
    InputSchema,
    Integer,
    PageArgs,
    ResponseOnly,
    Schema,
    Timestamp,
)
from hvcase.visits import codes


class VisitFields(Schema):
    id = ma.fields.UUID()
    family_id = ma.fields.UUID(required=True)
    home_visitor_id = ma.fields.UUID(allow_none=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(codes.STATUSES))
    scheduled_for = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    ended_at = Timestamp(allow_none=True)
    duration_minutes = Integer(
        allow_none=True, validate=validate.Range(1, codes.MAX_DURATION_MINUTES)
    )
    location = ma.fields.String(allow_none=True, validate=validate.OneOf(codes.LOCATIONS))
    participants = ma.fields.List(ma.fields.UUID(), validate=validate.Length(max=30))
    topics = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(codes.TOPICS)),
        validate=validate.Length(max=len(codes.TOPICS)),
    )
    missed_reason = ma.fields.String(allow_none=True, validate=validate.OneOf(codes.MISSED_REASONS))
    notes = ma.fields.String(allow_none=True, validate=validate.Length(max=20_000))


class VisitInSchema(ResponseOnly, VisitFields, InputSchema):
    """A visit as sent: POST, PUT, and each visit change in /sync."""


class VisitPatchSchema(VisitInSchema):
    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)


class VisitSchema(Schema):
    id = ma.fields.UUID(required=True)
    family_id = ma.fields.UUID(required=True)
    home_visitor_id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True)
    scheduled_for = Timestamp(allow_none=True, required=True)
    started_at = Timestamp(allow_none=True, required=True)
    ended_at = Timestamp(allow_none=True, required=True)
    duration_minutes = Integer(allow_none=True, required=True)
    location = ma.fields.String(required=True)
    participants = ma.fields.List(ma.fields.UUID(), required=True)
    topics = ma.fields.List(ma.fields.String(), required=True)
    missed_reason = ma.fields.String(allow_none=True, required=True)
    notes = ma.fields.String(allow_none=True, required=True)
    version = Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    voided_at = Timestamp(allow_none=True, required=True)
    void_reason = ma.fields.String(allow_none=True, required=True)


class VisitListArgs(PageArgs):
    family_id = ma.fields.UUID()
    home_visitor_id = ma.fields.UUID()
    status = ma.fields.String(validate=validate.OneOf(codes.STATUSES))
    from_ = Date(data_key="from", metadata={"description": "On or after this day"})
    to = Date(metadata={"description": "On or before this day"})
    include_voided = Boolean(load_default=False)
