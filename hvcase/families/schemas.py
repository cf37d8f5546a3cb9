"""Family, caregiver and child bodies (API.md, Families)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from hvcase.common.schemas import (
    RESPONSE_ONLY_FIELDS,
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
from hvcase.families import codes

PHONE = validate.Regexp(r"^\+[1-9]\d{7,14}$", error="Use E.164, like +16125550123.")
POSTAL_CODE = validate.Regexp(r"^\d{5}(-\d{4})?$", error="Use NNNNN or NNNNN-NNNN.")
LANGUAGE = validate.Regexp(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", error="Use a BCP 47 language tag, like en or es-MX."
)


def name() -> ma.fields.String:
    return ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


def code(choices: tuple[str, ...], **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=validate.OneOf(choices), **kwargs)


class AddressSchema(Schema):
    street = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    city = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))
    state = ma.fields.String(required=True, validate=validate.OneOf(codes.US_STATES))
    postal_code = ma.fields.String(required=True, validate=POSTAL_CODE)
    county = ma.fields.String(allow_none=True, validate=validate.Length(max=100))


class ConsentSchema(Schema):
    sms_reminders = Boolean(required=True)
    email_reminders = Boolean(required=True)


class PregnancySchema(Schema):
    expected_delivery_date = Date(required=True)


# Caregivers and children -------------------------------------------------------------------


class CaregiverFields(Schema):
    id = ma.fields.UUID()
    family_id = ma.fields.UUID()
    first_name = name()
    last_name = name()
    birth_date = Date(allow_none=True)
    relationship = code(codes.RELATIONSHIPS, required=True)
    primary = Boolean(required=True)
    education = code(codes.EDUCATION, allow_none=True)
    employment = code(codes.EMPLOYMENT, allow_none=True)
    insurance = code(codes.INSURANCE, allow_none=True)


class CaregiverInSchema(ResponseOnly, CaregiverFields, InputSchema):
    """A caregiver as sent (create or full replace)."""


class CaregiverPatchSchema(CaregiverInSchema):
    """Any subset of a caregiver's fields."""

    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)


class ChildFields(Schema):
    id = ma.fields.UUID()
    family_id = ma.fields.UUID()
    first_name = name()
    last_name = name()
    birth_date = Date(required=True)
    sex = code(codes.SEXES, allow_none=True)
    gestational_age_weeks = Integer(allow_none=True, validate=validate.Range(20, 44))
    gestational_age_days = Integer(allow_none=True, validate=validate.Range(0, 6))
    birth_weight_grams = Integer(allow_none=True, validate=validate.Range(300, 6500))
    enrolled = Boolean(load_default=True)


class ChildInSchema(ResponseOnly, ChildFields, InputSchema):
    """A child as sent (create or full replace)."""


class ChildPatchSchema(ChildInSchema):
    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)


class MemberOut(Schema):
    id = ma.fields.UUID(required=True)
    family_id = ma.fields.UUID(required=True)
    first_name = ma.fields.String(required=True)
    last_name = ma.fields.String(required=True)
    version = Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    voided_at = Timestamp(allow_none=True, required=True)
    void_reason = ma.fields.String(allow_none=True, required=True)


class CaregiverSchema(MemberOut):
    birth_date = Date(allow_none=True, required=True)
    relationship = ma.fields.String(required=True, attribute="relationship_to_child")
    primary = Boolean(required=True)
    education = ma.fields.String(allow_none=True, required=True)
    employment = ma.fields.String(allow_none=True, required=True)
    insurance = ma.fields.String(allow_none=True, required=True)


class ChildSchema(MemberOut):
    birth_date = Date(required=True)
    sex = ma.fields.String(allow_none=True, required=True)
    gestational_age_weeks = Integer(allow_none=True, required=True)
    gestational_age_days = Integer(allow_none=True, required=True)
    birth_weight_grams = Integer(allow_none=True, required=True)
    enrolled = Boolean(required=True)


# Families ----------------------------------------------------------------------------------

FAMILY_COMPUTED = (
    "status",
    "discharged_on",
    "discharge_reason",
    "attention",
    "next_visit",
    "last_visit",
    "screenings_due",
    "open_referrals",
)


class FamilyFields(Schema):
    id = ma.fields.UUID()
    agency_id = ma.fields.UUID()
    home_visitor_id = ma.fields.UUID(allow_none=True)
    enrolled_on = Date(required=True)
    referral_source = code(codes.REFERRAL_SOURCES, allow_none=True)
    preferred_language = ma.fields.String(
        allow_none=True, validate=[validate.Length(max=35), LANGUAGE]
    )
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    phone = ma.fields.String(allow_none=True, validate=PHONE)
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    consent = ma.fields.Nested(ConsentSchema, allow_none=True)
    risk_factors = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(codes.RISK_FACTORS)),
        validate=validate.Length(max=len(codes.RISK_FACTORS)),
    )
    household_size = Integer(allow_none=True, validate=validate.Range(1, 20))
    annual_income = Integer(
        allow_none=True, validate=validate.Range(0, 100_000_000), metadata={"description": "USD"}
    )
    pregnancy = ma.fields.Nested(PregnancySchema, allow_none=True)


class FamilyIgnored:
    """Computed and action-set fields a tablet may send back; ignored."""

    status = ignored()
    discharged_on = ignored()
    discharge_reason = ignored()
    attention = ignored()
    next_visit = ignored()
    last_visit = ignored()
    screenings_due = ignored()
    open_referrals = ignored()


class FamilyCreateSchema(ResponseOnly, FamilyIgnored, FamilyFields, InputSchema):
    """Enrollment of a household, all or nothing."""

    response_only = (*RESPONSE_ONLY_FIELDS, *FAMILY_COMPUTED)

    caregivers = ma.fields.List(
        ma.fields.Nested(CaregiverInSchema), required=True, validate=validate.Length(1, 20)
    )
    children = ma.fields.List(ma.fields.Nested(ChildInSchema), validate=validate.Length(max=20))
    confirm_not_duplicate = Boolean(load_default=False)


def member_version(kind: str) -> Integer:
    """A caregiver's or child's ``version`` inside a family PUT: read, not ignored, so that a
    tablet's older copy of a member cannot silently undo an edit made since."""
    return Integer(
        allow_none=True,
        validate=validate.Range(1, 2_147_483_647),
        metadata={
            "description": f"The version of this {kind} the change was made on (as last "
            f"received). When it is not the {kind}'s current version and the {kind}'s fields "
            "differ from the stored ones, the whole change is refused and nothing changes: "
            "412 for PUT, a conflict in /sync. Identical fields are no conflict. Absent or "
            f"null: the {kind} is upserted as sent; a {kind} not stored yet is created."
        },
    )


# In a family PUT, a member's ``version`` is the one response-only field that is read; the
# others (created_at, updated_at, voided_at, void_reason) stay accepted and ignored.
MEMBER_PUT_IGNORED = tuple(name for name in RESPONSE_ONLY_FIELDS if name != "version")


class FamilyCaregiverPutSchema(CaregiverInSchema):
    """A caregiver listed in a family PUT, with the version it was edited from."""

    response_only = MEMBER_PUT_IGNORED
    version = member_version("caregiver")


class FamilyChildPutSchema(ChildInSchema):
    """A child listed in a family PUT, with the version it was edited from."""

    response_only = MEMBER_PUT_IGNORED
    version = member_version("child")


class FamilyPutSchema(FamilyCreateSchema):
    """PUT: family-level fields replaced; listed caregivers and children (each with its id)
    upserted, each checked against its ``version`` when it carries one; unlisted ones kept."""

    caregivers = ma.fields.List(
        ma.fields.Nested(FamilyCaregiverPutSchema), validate=validate.Length(max=20)
    )
    children = ma.fields.List(
        ma.fields.Nested(FamilyChildPutSchema), validate=validate.Length(max=20)
    )


class FamilyPatchSchema(ResponseOnly, FamilyIgnored, FamilyFields, InputSchema):
    """PATCH: any family-level fields (members change through PUT or their own endpoints)."""

    response_only = (*RESPONSE_ONLY_FIELDS, *FAMILY_COMPUTED)

    def __init__(self, **kwargs) -> None:
        super().__init__(partial=True, **kwargs)


class FamilySchema(Schema):
    id = ma.fields.UUID(required=True)
    agency_id = ma.fields.UUID(required=True)
    home_visitor_id = ma.fields.UUID(allow_none=True, required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(codes.STATUSES))
    enrolled_on = Date(required=True)
    discharged_on = Date(allow_none=True, required=True)
    discharge_reason = ma.fields.String(allow_none=True, required=True)
    referral_source = ma.fields.String(allow_none=True, required=True)
    preferred_language = ma.fields.String(allow_none=True, required=True)
    address = ma.fields.Nested(AddressSchema, allow_none=True, required=True)
    phone = ma.fields.String(allow_none=True, required=True)
    email = ma.fields.String(allow_none=True, required=True)
    consent = ma.fields.Nested(ConsentSchema, allow_none=True, required=True)
    risk_factors = ma.fields.List(ma.fields.String(), required=True)
    household_size = Integer(allow_none=True, required=True)
    annual_income = Integer(allow_none=True, required=True)
    pregnancy = ma.fields.Nested(PregnancySchema, allow_none=True, required=True)
    caregivers = ma.fields.List(ma.fields.Nested(CaregiverSchema), required=True)
    children = ma.fields.List(ma.fields.Nested(ChildSchema), required=True)
    attention = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(codes.ATTENTION_REASONS)), required=True
    )
    version = Integer(required=True)
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    voided_at = Timestamp(allow_none=True, required=True)
    void_reason = ma.fields.String(allow_none=True, required=True)


class FamilyDetailSchema(FamilySchema):
    next_visit = ma.fields.Dict(allow_none=True, required=True)
    last_visit = ma.fields.Dict(allow_none=True, required=True)
    screenings_due = ma.fields.List(ma.fields.Dict(), required=True)
    open_referrals = ma.fields.List(ma.fields.Dict(), required=True)


class FamilyListArgs(PageArgs):
    status = ma.fields.String(validate=validate.OneOf(codes.STATUSES))
    home_visitor_id = ma.fields.UUID()
    q = ma.fields.String(validate=validate.Length(min=1, max=100))
    needs_attention = Boolean()
    include_voided = Boolean(load_default=False)


class MemberListArgs(PageArgs):
    include_voided = Boolean(load_default=False)


class VoidArgs(QueryArgs):
    reason = ma.fields.String(validate=validate.Length(min=1, max=500))


class AssignmentInSchema(InputSchema):
    home_visitor_id = ma.fields.UUID(required=True)
    note = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))


class AssignmentSchema(Schema):
    home_visitor_id = ma.fields.UUID(required=True)
    assigned_at = Timestamp(required=True)
    assigned_by = ma.fields.UUID(allow_none=True, required=True)
    note = ma.fields.String(allow_none=True, required=True)


class DischargeInSchema(InputSchema):
    discharged_on = Date(required=True)
    reason = code(codes.DISCHARGE_REASONS, required=True)
    note = ma.fields.String(allow_none=True, validate=validate.Length(max=2000))


class EnrollmentInSchema(InputSchema):
    enrolled_on = Date(required=True)
    home_visitor_id = ma.fields.UUID(allow_none=True)


class EnrollmentSchema(Schema):
    id = ma.fields.UUID(required=True)
    enrolled_on = Date(required=True)
    discharged_on = Date(allow_none=True, required=True)
    discharge_reason = ma.fields.String(allow_none=True, required=True)
