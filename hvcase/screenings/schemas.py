"""Screening and observation bodies, and the age and schedule answers (API.md,
"Developmental benchmarks and screenings")."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import (
    Boolean,
    Date,
    InputSchema,
    Integer,
    PageArgs,
    QueryArgs,
    ResponseOnly,
    Schema,
    Timestamp,
    ignored,
)
from hvcase.screenings.schedule import STATUSES

ANSWERS = "Item answers in the instrument's item order (see GET /instruments)."


class ScreeningInSchema(ResponseOnly, InputSchema):
    """A screening as sent: POST, PUT, and each screening change in /sync. The scores are
    the server's: sent back, they are ignored."""

    id = ma.fields.UUID()
    instrument = ma.fields.String(required=True, validate=validate.Length(min=1, max=20))
    child_id = ma.fields.UUID(allow_none=True)
    caregiver_id = ma.fields.UUID(allow_none=True)
    administered_on = Date(required=True)
    interval = Integer(allow_none=True, validate=validate.Range(1, 120))
    responses = ma.fields.Raw(allow_none=True, metadata={"description": ANSWERS})
    domain_scores = ma.fields.Raw(
        allow_none=True, metadata={"description": "The scored domains, instead of responses."}
    )
    family_id = ignored()
    total = ignored()
    zones = ignored()
    result = ignored()
    referral_recommended = ignored()
    urgent = ignored()
    administered_by = ignored()


class ScreeningSchema(Schema):
    id = ma.fields.UUID(required=True)
    family_id = ma.fields.UUID(required=True)
    instrument = ma.fields.String(required=True)
    child_id = ma.fields.UUID(allow_none=True, required=True)
    caregiver_id = ma.fields.UUID(allow_none=True, required=True)
    administered_on = Date(required=True)
    interval = Integer(allow_none=True, required=True)
    responses = ma.fields.Raw(allow_none=True, required=True)
    domain_scores = ma.fields.Raw(allow_none=True, required=True)
    total = Integer(allow_none=True, required=True)
    zones = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.String(allow_none=True), allow_none=True
    )
    result = ma.fields.String(required=True, validate=validate.OneOf(("positive", "negative")))
    referral_recommended = Boolean(required=True)
    urgent = Boolean(required=True)
    administered_by = ma.fields.UUID(required=True)
    version = Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    voided_at = Timestamp(allow_none=True, required=True)
    void_reason = ma.fields.String(allow_none=True, required=True)


class ScreeningListArgs(PageArgs):
    family_id = ma.fields.UUID()
    child_id = ma.fields.UUID()
    caregiver_id = ma.fields.UUID()
    instrument = ma.fields.String(validate=validate.Length(min=1, max=20))
    result = ma.fields.String(validate=validate.OneOf(("positive", "negative")))
    include_voided = Boolean(load_default=False)


class AgeArgs(QueryArgs):
    on = Date(metadata={"description": "The day (default: today in the agency's time zone)"})


class MonthsDays(Schema):
    months = Integer(required=True)
    days = Integer(required=True)


class AgeSchema(Schema):
    chronological = ma.fields.Nested(MonthsDays, required=True)
    corrected = ma.fields.Nested(MonthsDays, allow_none=True, required=True)


class ScheduleItemSchema(Schema):
    instrument = ma.fields.String(required=True)
    interval = Integer(required=True)
    window_start = Date(allow_none=True, required=True)
    window_end = Date(allow_none=True, required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(STATUSES))
    screening_id = ma.fields.UUID(allow_none=True, required=True)


class ScheduleSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ScheduleItemSchema), required=True)


class InstrumentSchema(Schema):
    code = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    subject = ma.fields.String(required=True, validate=validate.OneOf(("child", "caregiver")))
    intervals = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()), allow_none=True
    )
    domains = ma.fields.List(ma.fields.String(), allow_none=True)
    items = ma.fields.Raw(allow_none=True, required=True)
    scoring = ma.fields.Raw(required=True)


class InstrumentsSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(InstrumentSchema), required=True)
    cutoffs_example = Boolean(
        required=True,
        metadata={
            "description": "True while the ASQ zones come from the shipped example "
            "cutoffs, which are not the licensed values"
        },
    )


class ObservationInSchema(ResponseOnly, InputSchema):
    """An observation as sent: POST, PUT, and each observation change in /sync."""

    id = ma.fields.UUID()
    family_id = ma.fields.UUID(required=True)
    subject_id = ma.fields.UUID(allow_none=True)
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=40))
    value = ma.fields.Raw(
        required=True,
        allow_none=False,
        metadata={"description": "Its type is the code's (API.md's table of codes)."},
    )
    observed_on = Date(required=True)
    recorded_by = ignored()


class ObservationSchema(Schema):
    id = ma.fields.UUID(required=True)
    family_id = ma.fields.UUID(required=True)
    subject_id = ma.fields.UUID(allow_none=True, required=True)
    code = ma.fields.String(required=True)
    value = ma.fields.Raw(required=True)
    observed_on = Date(required=True)
    recorded_by = ma.fields.UUID(required=True)
    version = Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    voided_at = Timestamp(allow_none=True, required=True)
    void_reason = ma.fields.String(allow_none=True, required=True)


class ObservationListArgs(PageArgs):
    family_id = ma.fields.UUID()
    subject_id = ma.fields.UUID()
    code = ma.fields.String(validate=validate.Length(min=1, max=40))
    from_ = Date(data_key="from", metadata={"description": "Observed on or after this day"})
    to = Date(metadata={"description": "Observed on or before this day"})
    include_voided = Boolean(load_default=False)
