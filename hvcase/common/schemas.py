"""Base schemas and fields shared by every domain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

# Fields the server sets; a client may send them back (a tablet returns what it received) and
# they are ignored. Any other unknown field is a 422 naming it.
RESPONSE_ONLY_FIELDS = (
    "version",
    "created_at",
    "updated_at",
    "voided_at",
    "void_reason",
)


def has_nul(value: Any) -> bool:
    """Whether a string or key anywhere in ``value`` holds a NUL character (quick: no paths)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(
            (isinstance(key, str) and "\x00" in key) or has_nul(item) for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def nul_paths(value: Any, path: str = "") -> list[str]:
    """The field paths (``caregivers.0.name``) of the strings and keys in ``value`` that hold a
    NUL character."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                found.append(name)
            found += nul_paths(item, name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}.{index}" if path else str(index))
    return found


class Schema(ma.Schema):
    """Base schema: unknown fields are refused, and so is a NUL character anywhere."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul(self, data: Any, **kwargs: Any) -> Any:
        # PostgreSQL stores no NUL in text or JSONB: refused here it is a 422 naming the field,
        # not a database error (a 500) at the first query or flush.
        paths = nul_paths(data) if has_nul(data) else []
        if paths:
            raise ma.ValidationError(
                {path: ["Must not contain a NUL character."] for path in paths}
            )
        return data


class InputSchema(Schema):
    """A request body. Response-only fields are accepted, declared as ignored, and dropped."""

    response_only: tuple[str, ...] = RESPONSE_ONLY_FIELDS

    @ma.post_load
    def _drop_response_only(self, data: dict, **kwargs: Any) -> dict:
        for name in self.response_only:
            data.pop(name, None)
        return data


def ignored() -> ma.fields.Raw:
    """A response-only field in an input schema: any value is accepted and ignored."""
    return ma.fields.Raw(
        allow_none=True,
        load_default=None,
        metadata={"description": "Set by the server; ignored when sent."},
    )


class ResponseOnly:
    """Mixin declaring the response-only fields of API.md as ignored input fields."""

    version = ignored()
    created_at = ignored()
    updated_at = ignored()
    voided_at = ignored()
    void_reason = ignored()


class Timestamp(ma.fields.AwareDateTime):
    """RFC 3339 with an offset (a naive timestamp is a 422), normalised to UTC."""

    default_error_messages = {
        "invalid_awareness": "Not a valid timestamp: an offset (Z or +hh:mm) is required.",
        "out_of_range": "Timestamp out of range.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise self.make_error("out_of_range") from exc

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PageArgs(Schema):
    """``page`` from 1 and ``per_page`` 1–200 (default 50); out of range is a 422."""

    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope ``{items, page, per_page, total}`` around ``item_schema``."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "page": ma.fields.Integer(required=True),
                "per_page": ma.fields.Integer(required=True),
                "total": ma.fields.Integer(required=True),
            },
        )
    return _page_schemas[name]
