"""An agency's settings (API.md): what it may choose, and the defaults when it does not."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import InputSchema, Integer, Schema
from hvcase.referrals.codes import CATEGORIES

ASQ3_INTERVALS = (2, 4, 6, 8, 9, 10, 12, 14, 16, 18, 20, 22, 24, 27, 30, 33, 36, 42, 48, 54, 60)
ASQSE2_INTERVALS = (2, 6, 12, 18, 24, 30, 36, 48, 60)
TIMEZONES = frozenset(available_timezones())

DEFAULTS: dict[str, Any] = {
    "full_term_weeks": 40,
    "epds_positive_at": 13,
    "asq_intervals": [m for m in ASQ3_INTERVALS if m <= 36],
    "asqse_intervals": [m for m in ASQSE2_INTERVALS if m <= 36],
    "quiet_hours": {"start": "20:00", "end": "08:00"},
    "visit_reminder_hours": 24,
    "referral_follow_up_days": dict.fromkeys(CATEGORIES, 14),
}

HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="Use HH:MM, 00:00 to 23:59.")


class QuietHoursSchema(Schema):
    start = ma.fields.String(required=True, validate=HHMM)
    end = ma.fields.String(required=True, validate=HHMM)


class SettingsSchema(InputSchema):
    full_term_weeks = Integer(validate=validate.OneOf([38, 39, 40]))
    epds_positive_at = Integer(validate=validate.OneOf([10, 13]))
    asq_intervals = ma.fields.List(
        Integer(validate=validate.OneOf(ASQ3_INTERVALS)), validate=validate.Length(max=21)
    )
    asqse_intervals = ma.fields.List(
        Integer(validate=validate.OneOf(ASQSE2_INTERVALS)),
        validate=validate.Length(max=9),
    )
    quiet_hours = ma.fields.Nested(QuietHoursSchema)
    visit_reminder_hours = Integer(validate=validate.Range(min=1, max=168))
    referral_follow_up_days = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf(CATEGORIES)),
        values=Integer(validate=validate.Range(min=1, max=365)),
    )


def effective(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The agency's settings with every default filled in."""
    merged = {**DEFAULTS, **(settings or {})}
    merged["referral_follow_up_days"] = {
        **DEFAULTS["referral_follow_up_days"],
        **(settings or {}).get("referral_follow_up_days", {}),
    }
    return merged
