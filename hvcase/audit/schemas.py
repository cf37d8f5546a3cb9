"""Audit event bodies and filters."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hvcase.audit.models import ACTIONS
from hvcase.common.schemas import Date, PageArgs, Schema, Timestamp


class AuditEventSchema(Schema):
    id = ma.fields.UUID(required=True)
    at = Timestamp(required=True)
    user_id = ma.fields.UUID(allow_none=True, required=True)
    action = ma.fields.String(required=True, validate=validate.OneOf(ACTIONS))
    object_type = ma.fields.String(allow_none=True, required=True)
    object_id = ma.fields.String(allow_none=True, required=True)
    ip = ma.fields.String(allow_none=True, required=True)
    detail = ma.fields.Dict(required=True)


class AuditEventArgs(PageArgs):
    user_id = ma.fields.UUID()
    object_type = ma.fields.String(validate=validate.Length(min=1, max=40))
    object_id = ma.fields.String(validate=validate.Length(min=1, max=64))
    action = ma.fields.String(validate=validate.OneOf(ACTIONS))
    from_ = Date(data_key="from", metadata={"description": "From this day (UTC)"})
    to = Date(metadata={"description": "To this day (UTC), included"})
