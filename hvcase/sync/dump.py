"""What a pull sends, read and dumped fast: a first pull sends tens of thousands of records.

Two things make that cost a few microseconds a record instead of tens:

- **Rows, not objects.** A kind whose pulled schema reads only its model's columns (and that
  asks for nothing to be loaded or filled in with its records) is read as plain rows: the
  same values, without building an ORM object, its identity and its change tracking for
  each, and dumped by column position. Any other kind is read as ORM objects.
- **A compiled dump.** ``dumper(schema)`` does marshmallow's per-field bookkeeping once for
  the schema instead of once per value, and gives each field of a plain marshmallow type a
  converter that returns what that field's ``_serialize`` would for the value types a column
  gives (a ``str`` as it is, a ``UUID`` as ``str``, a ``date`` as ISO 8601...); any other
  value, or any other field, goes through the field's own ``_serialize``.

A test compares what is sent with ``schema.dump`` of the ORM object, for every registered kind
(tests/sync/test_pull_dump.py).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

import marshmallow as ma
from sqlalchemy import inspect, select
from sqlalchemy.orm import lazyload

from hvcase.common.records import Kind
from hvcase.common.schemas import Timestamp
from hvcase.extensions import db

Convert = Callable[[Any, Any], Any]  # (value, the record) -> what the field dumps


def _slow(field: ma.fields.Field, attribute: str) -> Convert:
    serialize = field._serialize
    return lambda value, record: serialize(value, attribute, record)


def _converter(field: ma.fields.Field, attribute: str) -> Convert:
    """What ``field._serialize`` gives, fast for the plain types a column holds."""
    slow = _slow(field, attribute)
    serialize = type(field)._serialize
    if serialize is ma.fields.Field._serialize:  # Boolean, Raw: the value as it is
        return lambda value, record: value
    if serialize is ma.fields.String._serialize:
        return lambda value, record: (
            value if value is None or type(value) is str else slow(value, record)
        )
    if serialize is ma.fields.UUID._serialize:
        return lambda value, record: None if value is None else str(value)
    if serialize is ma.fields.Integer._serialize and not field.as_string:
        return lambda value, record: (
            value if value is None or type(value) is int else slow(value, record)
        )
    if serialize is ma.fields.Date._serialize and field.format in (None, "iso"):
        return lambda value, record: (
            value.isoformat() if type(value) is dt.date else slow(value, record)
        )
    if serialize is Timestamp._serialize:  # a UTC instant as RFC 3339 with "Z"
        return lambda value, record: (
            value.isoformat().replace("+00:00", "Z")
            if type(value) is dt.datetime and value.tzinfo is dt.UTC
            else slow(value, record)
        )
    if serialize is ma.fields.List._serialize:
        inner = _converter(field.inner, attribute)
        return lambda value, record: (
            [inner(each, record) for each in value] if type(value) is list else slow(value, record)
        )
    return slow


def _fields(schema: ma.Schema) -> list[tuple[str, str, bool, Convert]] | None:
    """(key, attribute, read the attribute?, converter) for each field; None when marshmallow
    must dump the schema itself (dump hooks, a dotted attribute, a dump default)."""
    if any(schema._hooks.get(tag) for tag in ("pre_dump", "post_dump")):
        return None
    fields = []
    for name, one in schema.dump_fields.items():
        attribute = one.attribute or name
        if "." in attribute or one.dump_default is not ma.missing:
            return None
        fields.append(
            (one.data_key or name, attribute, one._CHECK_ATTRIBUTE, _converter(one, attribute))
        )
    return fields


@cache
def dumper(schema: ma.Schema) -> Callable[[Any], dict[str, Any]]:
    """``schema.dump`` for one ORM object."""
    fields = _fields(schema)
    if fields is None:
        return schema.dump

    def dump(record: Any) -> dict[str, Any]:
        return {
            key: convert(getattr(record, attribute, None) if read else None, record)
            for key, attribute, read, convert in fields
        }

    return dump


@cache
def _row_plan(kind: Kind) -> tuple[tuple, list[tuple[str, int, Convert]]] | None:
    """The columns a kind's records are read with as rows (``id``, ``version`` and
    ``voided_at`` first), and each field's key, column index and converter; None when they
    must be ORM objects: the kind loads or fills in more with them, its schema reads an
    attribute that is not a column, or marshmallow must dump it."""
    fields = _fields(kind.pulled)
    if fields is None or kind.loader_options or kind.prepare is not None:
        return None
    properties = inspect(kind.model).column_attrs
    attributes = ["id", "version", "voided_at"]
    plan = []
    for key, attribute, read, convert in fields:
        found = properties.get(attribute)
        if not read or found is None or len(found.columns) != 1:
            return None
        if attribute not in attributes:
            attributes.append(attribute)
        plan.append((key, attributes.index(attribute), convert))
    columns = tuple(getattr(kind.model, attribute) for attribute in attributes)
    return columns, plan


Sent = tuple[int, bool, dict[str, Any] | None]  # (version, voided?, the record dumped)


def read(kind: Kind, user: Any, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Sent]:
    """What to send for each record of ``ids``, in one query: its version, whether it is
    voided, and unless it is, the record as its kind's pulled schema dumps it."""
    ids = list(ids)
    plan = _row_plan(kind)
    if plan is not None:
        columns, fields = plan
        sent: dict[uuid.UUID, Sent] = {}
        for row in db.session.execute(select(*columns).where(kind.model.id.in_(ids))):
            if row[2] is not None:
                sent[row[0]] = (row[1], True, None)
            else:
                data = {key: convert(row[index], row) for key, index, convert in fields}
                sent[row[0]] = (row[1], False, data)
        return sent
    statement = select(kind.model).where(kind.model.id.in_(ids))
    found = list(db.session.scalars(statement.options(lazyload("*"), *kind.loader_options)))
    if kind.prepare is not None:
        kind.prepare(user, found)
    dump = dumper(kind.pulled)
    return {
        record.id: (record.version, True, None)
        if record.voided_at is not None
        else (record.version, False, dump(record))
        for record in found
    }
