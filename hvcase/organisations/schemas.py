"""Agency bodies."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import (
    Float,
    InputSchema,
    Integer,
    PageArgs,
    ResponseOnly,
    Schema,
    Timestamp,
)
from hvcase.organisations.models import AGENCY_KINDS, PROGRAM_MODELS
from hvcase.organisations.settings import TIMEZONES, SettingsSchema

TimeZone = validate.OneOf(sorted(TIMEZONES), error="Not an IANA time zone name.")


class Hundredths(Float):
    """A number kept to two decimal places, as its column stores it. Rounded once validated as
    sent (half away from zero, as PostgreSQL's numeric does), so the answer shows what was saved
    and sending the same value again changes nothing (no new version)."""

    def deserialize(self, value: Any, attr: Any = None, data: Any = None, **kwargs: Any) -> Any:
        number = super().deserialize(value, attr, data, **kwargs)
        if not isinstance(number, float):
            return number  # absent (or null)
        return float(Decimal(repr(number)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def VisitsPerMonth(**kwargs: Any) -> Hundredths:
    return Hundredths(
        validate=validate.Range(min=0, max=31),
        metadata={"description": "Rounded to two decimal places"},
        **kwargs,
    )


class AgencySchema(Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(AGENCY_KINDS))
    lead_agency_id = ma.fields.UUID(allow_none=True, required=True)
    model = ma.fields.String(required=True, validate=validate.OneOf(PROGRAM_MODELS))
    timezone = ma.fields.String(required=True)
    expected_visits_per_month = Float(required=True)
    settings = ma.fields.Dict(required=True, metadata={"description": "As set by the agency"})
    version = Integer(required=True)
    created_at = Timestamp(required=True)


class AgencyCreateSchema(ResponseOnly, InputSchema):
    id = ma.fields.UUID()
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(required=True, validate=validate.OneOf(AGENCY_KINDS))
    lead_agency_id = ma.fields.UUID(allow_none=True)
    model = ma.fields.String(required=True, validate=validate.OneOf(PROGRAM_MODELS))
    timezone = ma.fields.String(required=True, validate=TimeZone)
    expected_visits_per_month = VisitsPerMonth(required=True)
    settings = ma.fields.Nested(SettingsSchema)


class AgencyUpdateSchema(ResponseOnly, InputSchema):
    id = ma.fields.UUID(metadata={"description": "The path's id; another is a 422."})
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    kind = ma.fields.String(validate=validate.OneOf(AGENCY_KINDS))
    lead_agency_id = ma.fields.UUID(allow_none=True)
    model = ma.fields.String(validate=validate.OneOf(PROGRAM_MODELS))
    timezone = ma.fields.String(validate=TimeZone)
    expected_visits_per_month = VisitsPerMonth()
    settings = ma.fields.Nested(SettingsSchema, metadata={"description": "Merged into the current"})

    response_only = (*InputSchema.response_only, "id")
    optional_accepts_null = False  # a PATCH: null would clear, not leave


class AgencyListArgs(PageArgs):
    kind = ma.fields.String(validate=validate.OneOf(AGENCY_KINDS))
