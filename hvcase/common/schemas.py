"""Base schemas and fields shared by every domain.

Values have their declared JSON type, strictly (API.md, Conventions): the fields below refuse
a string where a number or a boolean is declared, a fraction where an integer is, a date or a
timestamp in another format, a number too large for its column and a day at the very edges
of the calendar, each as a 422 naming the field. Every schema uses them, never marshmallow's
lenient ``Integer``, ``Boolean``, ``Float``, ``Date`` or ``DateTime``.

A query string carries only text: in a ``QueryArgs`` schema the same fields read their text
as strictly (digits for an integer, ``true``/``false`` for a boolean).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
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


# A NUL, or half of a UTF-16 surrogate pair (JSON's "\ud800" alone): neither can be stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def has_nul(value: Any) -> bool:
    """Whether a string or key anywhere in ``value`` holds a NUL character or a lone surrogate
    (quick: no paths)."""
    if isinstance(value, str):
        return _unstorable(value)
    if isinstance(value, Mapping):
        return any(
            (isinstance(key, str) and _unstorable(key)) or has_nul(item)
            for key, item in value.items()
        )
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


def nul_paths(value: Any, path: str = "") -> list[str]:
    """The field paths (``caregivers.0.name``) of the strings and keys in ``value`` that hold a
    NUL character or a lone surrogate."""
    if isinstance(value, str):
        return [path or "body"] if _unstorable(value) else []
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _unstorable(key):
                found.append(name)
            found += nul_paths(item, name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found += nul_paths(item, f"{path}.{index}" if path else str(index))
    return found


class Schema(ma.Schema):
    """Base schema: unknown fields are refused, and so is a NUL character or a lone surrogate
    anywhere."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul(self, data: Any, **kwargs: Any) -> Any:
        # PostgreSQL stores no NUL in text or JSONB, and no database driver encodes a lone
        # surrogate as UTF-8: refused here it is a 422 naming the field, not a database error
        # (a 500) at the first query or flush.
        paths = nul_paths(data) if has_nul(data) else []
        if paths:
            raise ma.ValidationError(
                {path: ["Must not contain a NUL character or a lone surrogate."] for path in paths}
            )
        return data


class QueryArgs(Schema):
    """A query string: every value arrives as text, which each field reads strictly as its
    declared type (see the module's docstring)."""


class InputSchema(Schema):
    """A request body. Response-only fields are accepted, declared as ignored, and dropped.

    Optional fields accept ``null``, meaning none (API.md, Records): a list's none is empty,
    a field with a default takes it, and any other optional field is as if left out (an id the
    server generates or the path implies, an agency the caller's, settings the defaults). A
    schema whose fields are optional only because it describes a PATCH (``null`` there would
    mean "clear", not "leave") sets ``optional_accepts_null`` to False.
    """

    response_only: tuple[str, ...] = RESPONSE_ONLY_FIELDS
    optional_accepts_null: bool = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        super().on_bind_field(field_name, field_obj)
        if (
            self.optional_accepts_null
            and not field_obj.required
            and not field_obj.allow_none
            and not field_obj.dump_only
        ):
            field_obj.allow_none = True
            field_obj.metadata = {**field_obj.metadata, "null_means_none": True}

    @ma.post_load
    def _drop_response_only(self, data: dict, **kwargs: Any) -> dict:
        for name in self.response_only:
            data.pop(name, None)
        for name, field in self.load_fields.items():
            key = field.attribute or name
            if data.get(key, 0) is not None or not field.metadata.get("null_means_none"):
                continue
            if isinstance(field, ma.fields.List):
                data[key] = []
            elif field.load_default is not ma.missing:
                default = field.load_default
                data[key] = default() if callable(default) else default
            else:
                del data[key]
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


def _from_query(field: ma.fields.Field) -> bool:
    return isinstance(field.root, QueryArgs)


# The integer columns are 32-bit (PostgreSQL's integer): an integer field without a narrower
# range of its own is held to theirs.
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
_QUERY_INTEGER = re.compile(r"-?[0-9]{1,10}")


def _within_column(rule: Any) -> bool:
    return (
        isinstance(rule, validate.Range)
        and rule.min is not None
        and rule.max is not None
        and rule.min >= INT32_MIN
        and rule.max <= INT32_MAX
    )


class Integer(ma.fields.Integer):
    """A JSON integer: not a string ("3"), a fraction (3.5, 3.0) or a boolean; within its
    column. In a query string: optional minus and up to 10 digits."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)
        if not any(_within_column(rule) for rule in self.validators):
            self.validators.insert(0, validate.Range(INT32_MIN, INT32_MAX))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if _from_query(self) and isinstance(value, str):
            if not _QUERY_INTEGER.fullmatch(value):
                raise self.make_error("invalid")
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Float(ma.fields.Float):
    """A JSON number (an integer or a fraction): not a string, a boolean, NaN or infinity."""

    default_error_messages = {"invalid": "Not a valid number."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(ma.fields.Boolean):
    """A JSON ``true`` or ``false``: not "yes", "1", 1 or "true". In a query string: the text
    ``true`` or ``false``."""

    default_error_messages = {"invalid": "Not a valid boolean: use true or false."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        if _from_query(self) and value in ("true", "false"):
            return value == "true"
        raise self.make_error("invalid")


# The calendar a day may fall in: one day in from each end of years 1-9999, so that the day,
# in any agency's time zone, and the day after it (the end of a "to" filter) still fall within
# years 1-9999 once turned into UTC instants (API.md: outside them is a 422).
FIRST_DAY, LAST_DAY = date(1, 1, 2), date(9999, 12, 30)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Date(ma.fields.Date):
    """``YYYY-MM-DD`` and nothing else (not ``19950102``, not a timestamp), from 0001-01-02 to
    9999-12-30."""

    default_error_messages = {
        "invalid": "Not a valid date: use YYYY-MM-DD.",
        "out_of_range": "Out of the calendar: from 0001-01-02 to 9999-12-30.",
    }

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise self.make_error("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:  # 2025-02-30
            raise self.make_error("invalid") from exc
        if not FIRST_DAY <= day <= LAST_DAY:
            raise self.make_error("out_of_range")
        return day


_TIMESTAMP = re.compile(
    r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hours>[0-9]{2}):(?P<offset_minutes>[0-9]{2}))"
)
FIRST_INSTANT = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=UTC)
END_INSTANT = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


class Timestamp(ma.fields.AwareDateTime):
    """RFC 3339 with an offset (``2025-03-01T14:30:00Z``, ``…-06:00``; a naive timestamp or
    another format is a 422), normalised to UTC, from 0001-01-02 to 9999-12-30 (UTC)."""

    default_error_messages = {
        "invalid": "Not a valid timestamp: use RFC 3339, like 2025-03-01T14:30:00Z.",
        "invalid_awareness": "Not a valid timestamp: an offset (Z or +hh:mm) is required.",
        "out_of_range": "Out of the calendar: from 0001-01-02 to 9999-12-30 (UTC).",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            if isinstance(value, str) and _TIMESTAMP.fullmatch(value + "Z"):
                raise self.make_error("invalid_awareness")
            raise self.make_error("invalid")
        part = match.groupdict()
        try:
            offset = timedelta(0)
            if not part["utc"]:
                sign = -1 if part["sign"] == "-" else 1
                offset = sign * timedelta(
                    hours=int(part["offset_hours"]), minutes=int(part["offset_minutes"])
                )
            local = datetime.combine(
                date.fromisoformat(part["day"]),
                datetime.min.time(),
                tzinfo=timezone(offset),
            ).replace(
                hour=int(part["hour"]),
                minute=int(part["minute"]),
                second=int(part["second"]),
                microsecond=int((part["fraction"] or "0").ljust(6, "0")[:6]),
            )
        except ValueError as exc:  # 25:00, 2025-02-30, an offset of 24 hours or more
            raise self.make_error("invalid") from exc
        try:
            instant = local.astimezone(UTC)
        except OverflowError as exc:
            raise self.make_error("out_of_range") from exc
        if not FIRST_INSTANT <= instant < END_INSTANT:
            raise self.make_error("out_of_range")
        return instant

    def _serialize(self, value: datetime | None, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class PageArgs(QueryArgs):
    """``page`` from 1 and ``per_page`` 1–200 (default 50); out of range is a 422."""

    page = Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = Integer(load_default=50, validate=validate.Range(min=1, max=200))


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
                "page": Integer(required=True),
                "per_page": Integer(required=True),
                "total": Integer(required=True),
            },
        )
    return _page_schemas[name]
