"""Request and response bodies of sign-in, tokens and users."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from hvcase.auth.models import ROLES
from hvcase.auth.passwords import MAX_LENGTH, MIN_LENGTH
from hvcase.common.schemas import (
    Boolean,
    InputSchema,
    Integer,
    PageArgs,
    ResponseOnly,
    Schema,
    Timestamp,
)


def Email(**kwargs: Any) -> ma.fields.Email:
    return ma.fields.Email(validate=validate.Length(max=254), **kwargs)


def Password(description: str = "", **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        validate=validate.Length(min=MIN_LENGTH, max=MAX_LENGTH),
        metadata={"description": f"{description} ({MIN_LENGTH} to {MAX_LENGTH} characters)"},
        **kwargs,
    )


class LoginSchema(Schema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(required=True, validate=validate.Length(min=1, max=MAX_LENGTH))


class TokenRequestSchema(LoginSchema):
    device_name = ma.fields.String(required=True, validate=validate.Length(min=1, max=100))


class NewTokenSchema(Schema):
    token = ma.fields.String(required=True, metadata={"description": "Shown once; keep it."})
    token_id = ma.fields.UUID(required=True, attribute="id")
    device_name = ma.fields.String(required=True)
    expires_at = Timestamp(required=True)


class TokenSchema(Schema):
    token_id = ma.fields.UUID(required=True, attribute="id")
    device_name = ma.fields.String(required=True)
    created_at = Timestamp(required=True)
    last_used_at = Timestamp(allow_none=True)
    expires_at = Timestamp(required=True)


class CsrfSchema(Schema):
    csrf_token = ma.fields.String(required=True)


class MeSchema(Schema):
    id = ma.fields.UUID(required=True)
    email = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_id = ma.fields.UUID(allow_none=True, required=True)
    supervisor_id = ma.fields.UUID(allow_none=True, required=True)


class PasswordChangeSchema(Schema):
    current_password = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_LENGTH)
    )
    new_password = Password(required=True)


class UserSchema(MeSchema):
    active = Boolean(required=True)
    version = Integer(required=True)
    created_at = Timestamp(required=True)


class UserCreateSchema(ResponseOnly, InputSchema):
    id = ma.fields.UUID(metadata={"description": "Client-chosen id (optional)"})
    email = Email(required=True)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_id = ma.fields.UUID(allow_none=True)
    supervisor_id = ma.fields.UUID(allow_none=True)
    password = Password(required=True)
    active = Boolean(load_default=True)


class UserUpdateSchema(ResponseOnly, InputSchema):
    id = ma.fields.UUID(metadata={"description": "The path's id; another is a 422."})
    email = Email()
    name = ma.fields.String(validate=validate.Length(min=1, max=200))
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    agency_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "Unchangeable; a different value is a 422."}
    )
    supervisor_id = ma.fields.UUID(allow_none=True)
    password = Password("A reset, by an admin or agency admin")
    active = Boolean()

    response_only = (*InputSchema.response_only, "id")
    optional_accepts_null = False  # a PATCH: null would clear, not leave


class UserListArgs(PageArgs):
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    active = Boolean()
    supervisor_id = ma.fields.UUID()
    agency_id = ma.fields.UUID()
