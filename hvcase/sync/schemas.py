"""The /sync request and response (API.md, Sync)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import Boolean, InputSchema, Integer, Schema

ENTITIES = (
    "family",
    "caregiver",
    "child",
    "visit",
    "screening",
    "observation",
    "referral",
    "referral_event",
)
OUTCOMES = ("applied", "unchanged", "conflict", "rejected")


class ChangeSchema(InputSchema):
    entity = ma.fields.String(required=True, validate=validate.OneOf(ENTITIES))
    op = ma.fields.String(required=True, validate=validate.OneOf(("upsert", "void")))
    id = ma.fields.UUID(required=True)
    base_version = Integer(allow_none=True, validate=validate.Range(min=1))
    data = ma.fields.Dict(
        required=True,
        metadata={"description": "upsert: the record's body as for PUT; void: {void_reason?}"},
    )


class SyncRequestSchema(InputSchema):
    device_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    cursor = ma.fields.String(allow_none=True, validate=validate.Length(max=200))
    limit = Integer(load_default=500, validate=validate.Range(1, 1000))
    changes = ma.fields.List(
        ma.fields.Nested(ChangeSchema), required=True, validate=validate.Length(max=500)
    )


class ResultSchema(Schema):
    id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    version = Integer()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))
    current = ma.fields.Dict(metadata={"description": "The record as GET returns it"})


class PulledChangeSchema(Schema):
    entity = ma.fields.String(required=True, validate=validate.OneOf(ENTITIES))
    id = ma.fields.UUID(required=True)
    version = Integer()
    data = ma.fields.Dict()
    voided = Boolean()
    removed = Boolean()


class SyncResponseSchema(Schema):
    results = ma.fields.List(ma.fields.Nested(ResultSchema), required=True)
    changes = ma.fields.List(ma.fields.Nested(PulledChangeSchema), required=True)
    cursor = ma.fields.String(required=True)
    more = Boolean(required=True)
