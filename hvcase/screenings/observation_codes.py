"""The observation codes, as a data file validated when it is loaded, and the check of an
observation's ``code``, ``subject`` and ``value`` against them.

API.md ("Developmental benchmarks and screenings", the table of observation codes) fixes, for
each code, who the observation is about and what its value is; MEASURES.md (rule R8) says how the
measures read them. Those rules are data (DESIGN.md; STYLE habit 6): ``data/observation_codes.json``
maps each code to

- ``subject``: ``{"kind": K, "optional": true?}`` where K is ``child``, ``caregiver`` (any
  caregiver), ``mother`` (a caregiver whose relationship is ``mother``) or ``none`` (no subject);
  ``optional`` is API.md's "or none": the observation may also have no subject;
- ``value``: ``{"type": T, ...}`` where T is ``boolean`` (``true`` or ``false``), ``true_only``
  (only ``true``: an event recorded when it happens), ``code`` (``codes``: a list of codes, or the
  name of a code list of ``hvcase.families.codes`` such as ``"INSURANCE"``), ``integer`` (``min``
  and ``max``, both included), ``text`` (a non-blank string of at most ``max_length``
  characters) or ``object`` (``fields``: each field a value of the other types, ``required`` or
  not; no other key is accepted);
- ``description``: what the value means, for people reading the file or the API document.

A file that breaks this format stops the load with a ``DataFileError`` naming the file and the
field (``birth.value.fields.gestational_age_days.max``), so a bad deployment fails at start-up.
``check_observation`` is pure: it answers the 422's field-named errors, or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import marshmallow as ma
from marshmallow import validate

from hvcase.common.errors import flatten_messages
from hvcase.common.schemas import Boolean, Integer, Schema
from hvcase.families import codes as family_codes
from hvcase.screenings.instruments import CODE, DataFileError

OBSERVATION_CODES_FILE = Path(__file__).parent / "data" / "observation_codes.json"

CHILD, CAREGIVER, MOTHER, NONE = "child", "caregiver", "mother", "none"
SUBJECT_KINDS = (CHILD, CAREGIVER, MOTHER, NONE)
# A ``mother`` subject is a caregiver with this relationship (MEASURES.md R5; the caregiver
# relationship codes of hvcase.families.codes).
MOTHER_RELATIONSHIP = "mother"

BOOLEAN, TRUE_ONLY, CODE_VALUE, INTEGER, TEXT, OBJECT = (
    "boolean",
    "true_only",
    "code",
    "integer",
    "text",
    "object",
)
VALUE_TYPES = (BOOLEAN, TRUE_ONLY, CODE_VALUE, INTEGER, TEXT, OBJECT)
# The keys each value type takes beside ``type`` (and, for an object's field, ``required``).
VALUE_KEYS: dict[str, tuple[str, ...]] = {
    BOOLEAN: (),
    TRUE_ONLY: (),
    CODE_VALUE: ("codes",),
    INTEGER: ("min", "max"),
    TEXT: ("max_length",),
    OBJECT: ("fields",),
}
OPTIONAL_VALUE_KEYS = ("codes", "min", "max", "max_length", "fields")

# The messages marshmallow gives for the same faults elsewhere in the API, so that every 422
# reads alike.
MISSING = "Missing data for required field."
NOT_NULL = "Field may not be null."
UNKNOWN = "Unknown field."


# --- The rules, as loaded --------------------------------------------------------------------


@dataclass(frozen=True)
class ValueRule:
    """What an observation's value (or one field of an object value) must be.

    ``type`` is one of ``VALUE_TYPES``. ``codes`` are the allowed codes of a ``code`` value, and
    ``codes_list`` the name of the hvcase.families.codes list they come from, if they do.
    ``minimum`` and ``maximum`` bound an ``integer`` (both included); ``max_length`` a ``text``.
    ``fields`` are an ``object``'s fields by name; ``required`` is whether a field of an object
    must be given (a value itself is always required).
    """

    type: str
    codes: tuple[str, ...] | None = None
    codes_list: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    fields: Mapping[str, ValueRule] | None = None
    required: bool = True


@dataclass(frozen=True)
class ObservationCode:
    """One observation code of API.md's table: who it is about and what its value is.

    ``subject`` is ``child``, ``caregiver``, ``mother`` or ``none``; ``subject_optional`` is
    API.md's "or none" (the observation may also have no ``subject_id``: MEASURES.md R8 counts it
    for the primary caregiver, or the mother for ``postpartum_visit``).
    """

    code: str
    subject: str
    subject_optional: bool
    value: ValueRule
    description: str | None = None


# --- The file's schema -----------------------------------------------------------------------


class SubjectSchema(Schema):
    """``subject``: its kind, and whether the observation may have none (API.md's "or none")."""

    kind = ma.fields.String(required=True, validate=validate.OneOf(SUBJECT_KINDS))
    optional = Boolean(load_default=False)

    @ma.validates_schema
    def _none_is_not_optional(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["kind"] == NONE and data["optional"]:
            raise ma.ValidationError(
                "A subject of kind none is never given: leave it out.", "optional"
            )


def _code_lists() -> dict[str, tuple[str, ...]]:
    """The code lists of hvcase.families.codes by name: its upper-case lists of strings."""
    return {
        name: tuple(value)
        for name, value in vars(family_codes).items()
        if name.isupper()
        and isinstance(value, list | tuple)
        and value
        and all(isinstance(item, str) for item in value)
    }


class ValueSchema(Schema):
    """``value``: a type and the keys that type takes (``VALUE_KEYS``), nothing else."""

    is_field = False  # a field of an object value (FieldSchema) may not be an object itself

    type = ma.fields.String(required=True, validate=validate.OneOf(VALUE_TYPES))
    codes = ma.fields.Raw()
    min = Integer()
    max = Integer()
    max_length = Integer(validate=validate.Range(min=1, max=10_000))
    fields = ma.fields.Dict(
        keys=ma.fields.String(validate=CODE),
        # Each field is loaded by FieldSchema in _rule, so that its errors are named by the
        # field (``fields.gestational_age_weeks.min``), not by marshmallow's ``value`` wrapper.
        values=ma.fields.Raw(),
        validate=validate.Length(min=1),
    )

    @ma.validates_schema
    def _keys_of_the_type(self, data: dict[str, Any], **kwargs: Any) -> None:
        kind = data["type"]
        if self.is_field and kind == OBJECT:
            raise ma.ValidationError("A field of an object value is not an object.", "type")
        errors: dict[str, list[str]] = {}
        wanted = VALUE_KEYS[kind]
        for key in wanted:
            if key not in data:
                errors[key] = [MISSING]
        for key in OPTIONAL_VALUE_KEYS:
            if key in data and key not in wanted:
                errors[key] = [f"A {kind} value takes no {key}."]
        if kind == INTEGER and not errors and data["min"] > data["max"]:
            errors["max"] = ["Must be at least min."]
        if errors:
            raise ma.ValidationError(errors)

    @ma.post_load
    def _rule(self, data: dict[str, Any], **kwargs: Any) -> ValueRule:
        codes, codes_list = None, None
        if data["type"] == CODE_VALUE:
            codes, codes_list = _codes(data["codes"])
        return ValueRule(
            type=data["type"],
            codes=codes,
            codes_list=codes_list,
            minimum=data.get("min"),
            maximum=data.get("max"),
            max_length=data.get("max_length"),
            fields=None if "fields" not in data else _object_fields(data["fields"]),
            required=data.get("required", True),
        )


def _object_fields(raw: Mapping[str, Any]) -> Mapping[str, ValueRule]:
    """The fields of an object value, each loaded as a FieldSchema."""
    rules: dict[str, ValueRule] = {}
    errors: dict[str, Any] = {}
    for name, body in raw.items():
        try:
            rules[name] = FieldSchema().load(body)
        except ma.ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ma.ValidationError({"fields": errors})
    return MappingProxyType(rules)


class FieldSchema(ValueSchema):
    """A field of an object value: a value of another type, and whether it must be given."""

    is_field = True

    required = Boolean(load_default=False)


def _codes(raw: Any) -> tuple[tuple[str, ...], str | None]:
    """The allowed codes of a ``code`` value: its own list, or a list of hvcase.families.codes
    named (``"INSURANCE"``), so the two never drift apart."""
    if isinstance(raw, str):
        lists = _code_lists()
        if raw not in lists:
            raise ma.ValidationError(
                f"Not a code list of hvcase.families.codes: one of {', '.join(sorted(lists))}.",
                "codes",
            )
        return lists[raw], raw
    if not isinstance(raw, list) or not raw:
        raise ma.ValidationError(
            "Give a non-empty list of codes, or the name of a code list.", "codes"
        )
    errors: dict[int, list[str]] = {}
    for index, code in enumerate(raw):
        if not isinstance(code, str):
            errors[index] = ["Not a valid string."]
            continue
        try:
            CODE(code)
        except ma.ValidationError as exc:
            errors[index] = list(exc.messages)
    if errors:
        raise ma.ValidationError({"codes": errors})
    if len(set(raw)) != len(raw):
        raise ma.ValidationError("A code is listed twice.", "codes")
    return tuple(raw), None


class ObservationCodeSchema(Schema):
    """One code of the file: its subject rule, its value rule and what it means."""

    description = ma.fields.String(validate=validate.Length(min=1, max=500))
    subject = ma.fields.Nested(SubjectSchema, required=True)
    value = ma.fields.Nested(ValueSchema, required=True)


# --- Loading ---------------------------------------------------------------------------------


class _RepeatedKey(ValueError):
    pass


def _refuse_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys: a code defined twice would lose one silently.
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


def load_observation_codes(path: Path = OBSERVATION_CODES_FILE) -> dict[str, ObservationCode]:
    """The observation codes of ``path`` (the package's file by default), validated, by code.

    API.md's table of codes, subjects and value types, as data (DESIGN.md: rules are data). A
    file that breaks the format (see the module's docstring) is a DataFileError naming the file
    and the field, such as ``birth.value.fields.gestational_age_weeks.min``.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_refuse_repeated_keys)
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(path, {"file": [f"Cannot be read: {exc}."]}) from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(path, {"file": [f"Not valid JSON: {exc}."]}) from exc
    except _RepeatedKey as exc:
        raise DataFileError(
            path, {"file": [f"The key {exc} appears twice in one object."]}
        ) from exc
    if not isinstance(raw, dict) or not raw:
        raise DataFileError(path, {"file": ["Must be a JSON object of observation codes."]})
    errors: dict[str, list[str]] = {}
    table: dict[str, ObservationCode] = {}
    for code, body in raw.items():
        try:
            CODE(code)
            data = ObservationCodeSchema().load(body)
        except ma.ValidationError as exc:
            errors.update(flatten_messages(exc.messages, code))
            continue
        table[code] = ObservationCode(
            code=code,
            subject=data["subject"]["kind"],
            subject_optional=data["subject"]["optional"],
            value=data["value"],
            description=data.get("description"),
        )
    if errors:
        raise DataFileError(path, errors)
    return table


# --- Checking an observation -----------------------------------------------------------------


def check_observation(
    code_table: Mapping[str, ObservationCode],
    *,
    code: str,
    value: Any,
    subject_kind: str | None,
    subject_relationship: str | None,
) -> dict[str, list[str]]:
    """The 422 errors of an observation's ``code``, subject and ``value``; empty when valid.

    API.md (Observation): "a value of the wrong type for its code, or a subject of the wrong
    kind, is a 422". ``subject_kind`` is ``"child"``, ``"caregiver"`` or None (no
    ``subject_id``), and ``subject_relationship`` the caregiver's relationship code (for
    ``mother`` codes). Errors are keyed ``code`` (not a known code: nothing else is checked),
    ``subject_id`` (a subject of the wrong kind, missing where required, or given where none is
    allowed) and ``value`` or ``value.<field>`` (a wrong value). ``value`` is the decoded JSON:
    booleans must be JSON booleans (not 0, 1 or "true"), integers JSON integers (not booleans or
    fractions, 3.0 included). Whether the subject belongs to the family is the caller's check.
    """
    if subject_kind not in (CHILD, CAREGIVER, None):
        raise ValueError(f"subject_kind must be child, caregiver or None, not {subject_kind!r}.")
    rule = code_table.get(code) if isinstance(code, str) else None
    if rule is None:
        return {"code": [f"Not an observation code: one of {', '.join(sorted(code_table))}."]}
    errors: dict[str, list[str]] = {}
    subject_problem = _subject_problem(rule, subject_kind, subject_relationship)
    if subject_problem:
        errors["subject_id"] = [subject_problem]
    _check_value(rule.value, value, "value", errors)
    return errors


# What each subject kind is called in a message.
SUBJECT_NOUNS = {
    CHILD: "a child",
    CAREGIVER: "a caregiver",
    MOTHER: f"a caregiver whose relationship is {MOTHER_RELATIONSHIP}",
}


def _subject_problem(
    rule: ObservationCode, subject_kind: str | None, relationship: str | None
) -> str | None:
    if rule.subject == NONE:
        if subject_kind is None:
            return None
        return f"Must be left out: {rule.code} is recorded for no one."
    wanted = SUBJECT_NOUNS[rule.subject]
    if subject_kind is None:
        if rule.subject_optional:
            return None
        return f"Missing data for required field: {rule.code} is about {wanted}."
    if rule.subject == CHILD:
        fits = subject_kind == CHILD
    elif rule.subject == CAREGIVER:
        fits = subject_kind == CAREGIVER
    else:
        fits = subject_kind == CAREGIVER and relationship == MOTHER_RELATIONSHIP
    if fits:
        return None
    none = ", or left out" if rule.subject_optional else ""
    return f"Must be {wanted}{none}: {rule.code} is about {wanted}."


def _check_value(rule: ValueRule, value: Any, name: str, errors: dict[str, list[str]]) -> None:
    """Add the problems of ``value`` under ``name`` (``value``, ``value.<field>``) to ``errors``."""
    if rule.type == OBJECT:
        _check_object(rule, value, name, errors)
        return
    problem = _value_problem(rule, value)
    if problem:
        errors.setdefault(name, []).append(problem)


def _is_integer(value: Any) -> bool:
    # bool is an int in Python, and 3.0 is a fraction in JSON's eyes here (API.md: strictly typed).
    return isinstance(value, int) and not isinstance(value, bool)


def _value_problem(rule: ValueRule, value: Any) -> str | None:
    if value is None:
        return NOT_NULL
    if rule.type == BOOLEAN:
        return (
            None if value is True or value is False else "Not a valid boolean: use true or false."
        )
    if rule.type == TRUE_ONLY:
        # An event recorded when it happens (MEASURES.md R8): there is no "false" to record.
        return None if value is True else "Must be true."
    if rule.type == CODE_VALUE:
        if isinstance(value, str) and value in rule.codes:
            return None
        return f"Must be one of: {', '.join(rule.codes)}."
    if rule.type == INTEGER:
        if not _is_integer(value):
            return "Not a valid integer."
        return _first_message(validate.Range(rule.minimum, rule.maximum), value)
    if rule.type == TEXT:
        if not isinstance(value, str):
            return "Not a valid string."
        if not value.strip():
            # A tool named by blanks names nothing.
            return "Must not be blank."
        return _first_message(validate.Length(max=rule.max_length), value)
    raise ValueError(f"Unknown value type {rule.type!r}.")


def _first_message(validator: validate.Validator, value: Any) -> str | None:
    try:
        validator(value)
    except ma.ValidationError as exc:
        return exc.messages[0]
    return None


def _check_object(rule: ValueRule, value: Any, name: str, errors: dict[str, list[str]]) -> None:
    """An object value: its declared fields (required ones given, not null; optional ones may be
    null, meaning none, as API.md's optional fields) and no other key."""
    if not isinstance(value, dict):
        errors.setdefault(name, []).append(NOT_NULL if value is None else "Not a valid object.")
        return
    fields = rule.fields or {}
    for key in value:
        if key not in fields:
            errors.setdefault(f"{name}.{key}", []).append(UNKNOWN)
    for key, field_rule in fields.items():
        where = f"{name}.{key}"
        if key not in value:
            if field_rule.required:
                errors.setdefault(where, []).append(MISSING)
            continue
        if value[key] is None and not field_rule.required:
            continue
        _check_value(field_rule, value[key], where, errors)
