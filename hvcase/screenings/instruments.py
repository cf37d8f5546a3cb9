"""The screening instruments and the ASQ cutoffs, as data files validated when they are loaded.

DESIGN.md ("Domain rules that are easy to get wrong"): instruments, intervals and cutoffs are
data, files under the package loaded and validated at start-up, not code spread over modules
(STYLE habit 6). One JSON file describes one instrument (``data/instruments/<code>.json``; the
format is in docs/instruments.md); a deployment adds an instrument by adding a file in a folder
of its own. The ASQ-3 and ASQ:SE-2 cutoff scores are licensed, so the package ships only a
clearly labelled example (``data/asq_cutoffs.example.csv``) and an agency supplies its own file.

A file that breaks its schema stops the load with a ``DataFileError`` naming the file and the
field, so a bad deployment fails at start-up rather than at the first screening.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from math import gcd
from pathlib import Path
from types import MappingProxyType
from typing import Any

import marshmallow as ma
from marshmallow import validate

from hvcase.common.errors import flatten_messages
from hvcase.common.schemas import Integer, Schema
from hvcase.organisations.settings import DEFAULTS as SETTING_DEFAULTS
from hvcase.screenings.ages import Age

DATA_DIR = Path(__file__).parent / "data"
PACKAGE_INSTRUMENTS_DIR = DATA_DIR / "instruments"
# The shipped example of the cutoffs file: made-up values, never the licensed ones.
EXAMPLE_CUTOFFS_FILE = DATA_DIR / "asq_cutoffs.example.csv"
# A cutoffs file whose first line starts with this is an example (the shipped one says so), so
# the app can warn and GET /instruments can say that the zones are not real.
EXAMPLE_MARK = "# EXAMPLE"

SUBJECTS = ("child", "caregiver")
SUM, ASQ_DOMAINS, ASQ_TOTAL = "sum", "asq_domains", "asq_total"
METHODS = (SUM, ASQ_DOMAINS, ASQ_TOTAL)
ASQ_METHODS = (ASQ_DOMAINS, ASQ_TOTAL)
CUTOFF_COLUMNS = ("instrument", "interval", "domain", "cutoff", "monitoring_to")

CODE = validate.Regexp(
    r"^[a-z][a-z0-9_]{0,31}$", error="Use 1 to 32 lowercase letters, digits or _, from a letter."
)
# An age as DESIGN.md writes the windows: months and days, ``1m0d`` being the day the child is
# one month old. A day of the month is 0 to 30.
AGE = re.compile(r"(?P<months>[0-9]{1,3})m(?P<days>[0-9]{1,2})d")
# Agency settings an instrument may take its threshold from: the ``*_positive_at`` ones (API.md's
# ``epds_positive_at`` is the one the shipped files use).
THRESHOLD_SETTINGS = tuple(name for name in SETTING_DEFAULTS if name.endswith("_positive_at"))


class DataFileError(ValueError):
    """An instrument or cutoffs file that breaks its format; ``errors`` maps each field (a path
    such as ``scoring.positive_at``, or ``line 12.cutoff`` in the cutoffs file) to messages."""

    def __init__(self, path: Path, errors: Mapping[str, list[str]]) -> None:
        self.path = path
        self.errors = {name: list(messages) for name, messages in errors.items()}
        listed = "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in self.errors.items()
        )
        super().__init__(f"{path}: {listed}")


def _parse_age(text: str) -> tuple[int, int]:
    """``"23m0d"`` as ``(23, 0)``: months and days of a window bound (DESIGN.md's notation)."""
    match = AGE.fullmatch(text)
    if match is None or int(match["days"]) > 30:
        raise ValueError(f"Not an age in months and days (like 23m0d): {text!r}.")
    return int(match["months"]), int(match["days"])


def _frozen(value: Any) -> Any:
    """A read-only copy of JSON-like data: an Instrument is shared by every request."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    """JSON-ready data (dicts and lists) from ``_frozen`` data."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True)
class Instrument:
    """One screening instrument, as its file declares it.

    ``code, name, subject, intervals, items, scoring`` are what GET /instruments shows (API.md);
    ``domains`` is what the ASQ instruments score. ``intervals`` maps months to the published
    administration window ``(start, end)`` in DESIGN.md's notation; ``items`` and ``scoring``
    are the file's blocks, read-only.
    """

    code: str
    name: str
    subject: str
    items: Mapping[str, Any] | None
    scoring: Mapping[str, Any]
    intervals: Mapping[int, tuple[str, str]] | None = None
    domains: tuple[str, ...] | None = None
    source: Path | None = field(default=None, compare=False)

    @property
    def method(self) -> str:
        """How the instrument is scored: ``sum``, ``asq_domains`` or ``asq_total``."""
        return self.scoring["method"]

    @property
    def windows(self) -> Mapping[int, tuple[Age, Age]]:
        """The administration windows as ages, ``{24: (Age(23, 0), Age(25, 15))}``, both ends
        included (DESIGN.md's table): what the schedule reads. Empty without intervals."""
        return {
            months: (Age(*_parse_age(start)), Age(*_parse_age(end)))
            for months, (start, end) in (self.intervals or {}).items()
        }

    @property
    def domain_max(self) -> int | None:
        """The top score of an ``asq_domains`` domain: items per domain × the best answer's
        points (ASQ-3: 6 × 10 = 60)."""
        if self.method != ASQ_DOMAINS or self.items is None:
            return None
        return self.items["per_domain"] * max(self.items["answers"].values())

    @property
    def score_step(self) -> int | None:
        """The step of a score given directly: ASQ-3 domains move by 5 (the greatest common
        divisor of the answers' points 10, 5, 0); ASQ:SE-2 totals by the file's ``score_step``."""
        if self.method == ASQ_TOTAL:
            return self.scoring["score_step"]
        if self.method == ASQ_DOMAINS and self.items is not None:
            return gcd(*self.items["answers"].values()) or 1
        return None

    def describe(self) -> dict[str, Any]:
        """The instrument as GET /instruments shows it (API.md), plus ``domains``."""
        return {
            "code": self.code,
            "name": self.name,
            "subject": self.subject,
            "intervals": (
                None
                if self.intervals is None
                else {str(months): list(window) for months, window in self.intervals.items()}
            ),
            "domains": None if self.domains is None else list(self.domains),
            "items": _plain(self.items),
            "scoring": _plain(self.scoring),
        }


# --- The instrument file's schema ----------------------------------------------------------


class AgeText(ma.fields.String):
    """An age in months and days, ``23m0d`` (DESIGN.md's windows), kept as written."""

    default_error_messages = {"age": "Use months and days like 23m0d (days 0 to 30)."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            _parse_age(text)
        except ValueError as exc:
            raise self.make_error("age") from exc
        return text


class SumItemsSchema(Schema):
    """``items`` of a sum-scored instrument: how many answers, each an integer min to max."""

    count = Integer(required=True, validate=validate.Range(min=1, max=200))
    min = Integer(required=True, validate=validate.Range(min=0, max=1000))
    max = Integer(required=True, validate=validate.Range(min=0, max=1000))
    labels = ma.fields.List(ma.fields.String(validate=CODE), load_default=None)

    @ma.validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["max"] <= data["min"]:
            raise ma.ValidationError("Must be above min.", "max")
        labels = data.get("labels")
        if labels is not None and len(labels) != data["count"]:
            raise ma.ValidationError(f"Give one label per item ({data['count']}).", "labels")


class AsqItemsSchema(Schema):
    """``items`` of an ``asq_domains`` instrument: items per domain, and each answer's points
    (ASQ-3: yes 10, sometimes 5, not yet 0; an unanswered item is null)."""

    per_domain = Integer(required=True, validate=validate.Range(min=1, max=100))
    answers = ma.fields.Dict(
        keys=ma.fields.String(validate=CODE),
        values=Integer(validate=validate.Range(min=0, max=1000)),
        required=True,
        validate=validate.Length(min=2),
    )

    @ma.validates_schema
    def _scores_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not any(data["answers"].values()):
            raise ma.ValidationError("At least one answer must be worth points.", "answers")


class SumScoringSchema(Schema):
    """``scoring`` of a sum: positive at or above ``positive_at``, or at the agency setting named
    by ``positive_at_setting`` (exactly one of the two); ``urgent_items`` are 1-based."""

    method = ma.fields.String(required=True, validate=validate.Equal(SUM))
    positive_at = Integer(validate=validate.Range(min=0, max=100_000))
    positive_at_setting = ma.fields.String(validate=validate.OneOf(THRESHOLD_SETTINGS))
    urgent_items = ma.fields.List(
        Integer(validate=validate.Range(min=1, max=200)), load_default=list
    )

    @ma.validates_schema
    def _one_threshold(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("positive_at" in data) == ("positive_at_setting" in data):
            raise ma.ValidationError(
                "Give exactly one of positive_at and positive_at_setting.", "positive_at"
            )
        if len(set(data["urgent_items"])) != len(data["urgent_items"]):
            raise ma.ValidationError("An item is listed twice.", "urgent_items")


class AsqDomainsScoringSchema(Schema):
    """``scoring`` of ASQ-3-like domains: a domain with up to ``max_unanswered`` unanswered
    items is scaled up, with more it is not scored (DESIGN.md; ASQ-3 User's Guide: 2)."""

    method = ma.fields.String(required=True, validate=validate.Equal(ASQ_DOMAINS))
    max_unanswered = Integer(required=True, validate=validate.Range(min=0, max=100))


class AsqTotalScoringSchema(Schema):
    """``scoring`` of an ASQ:SE-2-like total, given as ``domain_scores: {"<domain>": n}``:
    ``score_step`` is what the total moves by (ASQ:SE-2: 5)."""

    method = ma.fields.String(required=True, validate=validate.Equal(ASQ_TOTAL))
    score_step = Integer(required=True, validate=validate.Range(min=1, max=100))


SCORING_SCHEMAS: dict[str, type[Schema]] = {
    SUM: SumScoringSchema,
    ASQ_DOMAINS: AsqDomainsScoringSchema,
    ASQ_TOTAL: AsqTotalScoringSchema,
}
ITEMS_SCHEMAS: dict[str, type[Schema] | None] = {
    SUM: SumItemsSchema,
    ASQ_DOMAINS: AsqItemsSchema,
    ASQ_TOTAL: None,  # an ASQ:SE-2 total is given directly: no item responses
}


class InstrumentSchema(Schema):
    """One instrument file (docs/instruments.md). The ``items`` and ``scoring`` blocks are
    checked by the schemas of the scoring ``method``, then the file as a whole."""

    code = ma.fields.String(required=True, validate=CODE)
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    subject = ma.fields.String(required=True, validate=validate.OneOf(SUBJECTS))
    intervals = ma.fields.Dict(
        keys=ma.fields.String(
            validate=validate.Regexp(r"^[1-9][0-9]{0,2}$", error="Use months: 1 to 999.")
        ),
        values=ma.fields.Tuple((AgeText(), AgeText())),
        validate=validate.Length(min=1),
        load_default=None,
    )
    domains = ma.fields.List(
        ma.fields.String(validate=CODE), validate=validate.Length(min=1), load_default=None
    )
    items = ma.fields.Raw(allow_none=True, load_default=None)
    scoring = ma.fields.Dict(keys=ma.fields.String(), required=True)

    @ma.post_load
    def _instrument(self, data: dict[str, Any], **kwargs: Any) -> Instrument:
        method = data["scoring"].get("method")
        if method not in METHODS:
            raise ma.ValidationError(
                {"scoring": {"method": [f"Must be one of: {', '.join(METHODS)}."]}}
            )
        errors: dict[str, Any] = {}
        scoring = _load_block(SCORING_SCHEMAS[method], data["scoring"], "scoring", errors)
        items_schema = ITEMS_SCHEMAS[method]
        if items_schema is None:
            items = None
            if data["items"] is not None:
                errors["items"] = [f"A {method} instrument takes no item responses: use null."]
        elif data["items"] is None:
            errors["items"] = ["Missing data for required field."]
            items = None
        else:
            items = _load_block(items_schema, data["items"], "items", errors)
        intervals = _intervals(data, method, errors)
        domains = _domains(data, method, errors)
        if not errors and method == SUM:
            _check_sum(items, scoring, errors)
        if (
            not errors
            and method == ASQ_DOMAINS
            and scoring["max_unanswered"] >= items["per_domain"]
        ):
            errors["scoring"] = {"max_unanswered": ["Must be below items.per_domain."]}
        if errors:
            raise ma.ValidationError(errors)
        return Instrument(
            code=data["code"],
            name=data["name"],
            subject=data["subject"],
            items=_frozen(items),
            scoring=_frozen(scoring),
            intervals=intervals,
            domains=domains,
        )


def _load_block(
    schema: type[Schema], raw: Any, name: str, errors: dict[str, Any]
) -> dict[str, Any] | None:
    try:
        return schema().load(raw)
    except ma.ValidationError as exc:
        errors[name] = exc.messages
        return None


def _intervals(
    data: Mapping[str, Any], method: str, errors: dict[str, Any]
) -> Mapping[int, tuple[str, str]] | None:
    """The windows by interval, each containing the interval's own age (the schedule's "due"
    runs from the window's start to that age); intervals are a child's ages."""
    raw = data["intervals"]
    if raw is None:
        if method in ASQ_METHODS:
            errors["intervals"] = ["Missing data for required field."]
        return None
    if data["subject"] != "child":
        errors["intervals"] = ["Only a child's instrument has intervals (ages of the child)."]
        return None
    windows: dict[int, tuple[str, str]] = {}
    for key in sorted(raw, key=int):
        start, end = raw[key]
        months = int(key)
        if not _parse_age(start) <= (months, 0) <= _parse_age(end):
            errors.setdefault("intervals", {})[key] = [
                f"The window must run from its start to its end and hold {months}m0d."
            ]
        windows[months] = (start, end)
    return MappingProxyType(windows)


def _domains(
    data: Mapping[str, Any], method: str, errors: dict[str, Any]
) -> tuple[str, ...] | None:
    domains = data["domains"]
    if method == SUM:
        if domains is not None:
            errors["domains"] = ["A sum-scored instrument has no domains."]
        return None
    if domains is None:
        errors["domains"] = ["Missing data for required field."]
        return None
    if len(set(domains)) != len(domains):
        errors["domains"] = ["A domain is listed twice."]
    if method == ASQ_TOTAL and len(domains) != 1:
        errors["domains"] = ["An asq_total instrument has one domain, its total (asqse2: total)."]
    return tuple(domains)


def _check_sum(items: Mapping[str, Any], scoring: Mapping[str, Any], errors: dict) -> None:
    """What a sum's items and scoring must agree on: urgent items exist, and the threshold
    (or the setting's default) is a total that some answers reach and others do not."""
    count, low, high = items["count"], items["min"], items["max"]
    beyond = [number for number in scoring["urgent_items"] if number > count]
    if beyond:
        errors["scoring"] = {"urgent_items": [f"Items are numbered 1 to {count}."]}
        return
    name = scoring.get("positive_at_setting")
    threshold = SETTING_DEFAULTS[name] if name else scoring["positive_at"]
    if not count * low < threshold <= count * high:
        where = f"the default of {name} ({threshold})" if name else "positive_at"
        errors["scoring"] = {
            "positive_at_setting" if name else "positive_at": [
                f"{where} must be a total from {count * low + 1} to {count * high}."
            ]
        }


# --- Loading instruments -------------------------------------------------------------------


def load_instrument(path: Path) -> Instrument:
    """One instrument file, validated; a DataFileError names the file and the field."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(path, {"file": [f"Cannot be read: {exc}."]}) from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(path, {"file": [f"Not valid JSON: {exc}."]}) from exc
    try:
        instrument = InstrumentSchema().load(raw)
    except ma.ValidationError as exc:
        raise DataFileError(path, flatten_messages(exc.messages)) from exc
    return replace(instrument, source=path)


def load_instruments(*folders: Path) -> dict[str, Instrument]:
    """Every ``*.json`` of the package's ``data/instruments`` folder, then of each extra folder
    (a deployment's ``HVCASE_INSTRUMENTS_DIR``, a test's own), by code, sorted by code.

    Adding an instrument is adding a file (DESIGN.md: instruments are data). A code defined
    twice, or a folder that is not there, is a DataFileError: a deployment never runs with an
    instrument other than the one it meant.
    """
    found: dict[str, Instrument] = {}
    for folder in (PACKAGE_INSTRUMENTS_DIR, *folders):
        if not folder.is_dir():
            raise DataFileError(folder, {"folder": ["Not a folder of instrument files."]})
        for path in sorted(folder.glob("*.json")):
            instrument = load_instrument(path)
            if instrument.code in found:
                first = found[instrument.code].source
                raise DataFileError(
                    path, {"code": [f"{instrument.code} is already defined by {first}."]}
                )
            found[instrument.code] = instrument
    return dict(sorted(found.items()))


# --- The ASQ cutoffs file ------------------------------------------------------------------


@dataclass(frozen=True)
class Cutoff:
    """One row of the cutoffs file: the cutoff score and, for ASQ-3 domains, the top of the
    monitoring zone (scores above the cutoff up to it are ``monitoring``)."""

    cutoff: float
    monitoring_to: float | None


@dataclass(frozen=True)
class Cutoffs:
    """The agency's cutoff scores by (instrument, interval, domain), from ``path``.

    ``is_example`` is true for the shipped example (or any file marked as one): the zones it
    gives are not the licensed ones, and the app should say so.
    """

    path: Path
    is_example: bool
    rows: Mapping[tuple[str, int, str], Cutoff]

    def get(self, instrument: str, interval: int, domain: str) -> Cutoff | None:
        """The cutoff of one domain (``total`` for ASQ:SE-2) at one interval, if the file has it."""
        return self.rows.get((instrument, interval, domain))


class CutoffRowSchema(Schema):
    """One row of the cutoffs CSV. Its cells are text: numbers are read from it."""

    instrument = ma.fields.String(required=True, validate=CODE)
    interval = ma.fields.Integer(required=True, validate=validate.Range(min=1, max=999))
    domain = ma.fields.String(required=True, validate=CODE)
    cutoff = ma.fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0))
    monitoring_to = ma.fields.Float(
        allow_nan=False, allow_none=True, load_default=None, validate=validate.Range(min=0)
    )


def load_cutoffs(path: Path, instruments: Mapping[str, Instrument] | None = None) -> Cutoffs:
    """The cutoffs CSV at ``path`` (docs/instruments.md), checked against ``instruments`` (the
    package's when not given).

    The file has a header ``instrument,interval,domain,cutoff,monitoring_to`` and one row per
    interval and domain of every ASQ instrument (ASQ:SE-2's domain is ``total``); lines starting
    with ``#`` are comments. Every interval and domain of every ASQ instrument must have its
    row, so a screening is never left without a zone. Rows for ``asq_domains`` instruments need
    ``cutoff < monitoring_to <= the domain's top score``; ``asq_total`` rows leave
    ``monitoring_to`` empty. A file whose first line starts with ``# EXAMPLE`` is an example.
    """
    if instruments is None:
        instruments = load_instruments()
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not data
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(path, {"file": [f"Cannot be read: {exc}."]}) from exc
    lines = text.splitlines()
    is_example = path.resolve() == EXAMPLE_CUTOFFS_FILE.resolve() or bool(
        lines and lines[0].startswith(EXAMPLE_MARK)
    )
    errors: dict[str, list[str]] = {}
    rows: dict[tuple[str, int, str], Cutoff] = {}
    seen_at: dict[tuple[str, int, str], int] = {}
    header: list[str] | None = None
    for number, cells in _csv_lines(lines):
        if header is None:
            header = cells
            if tuple(header) != CUTOFF_COLUMNS:
                errors["header"] = [f"The first row must be {','.join(CUTOFF_COLUMNS)}."]
                break
            continue
        where = f"line {number}"
        if len(cells) != len(CUTOFF_COLUMNS):
            errors[where] = [f"Give {len(CUTOFF_COLUMNS)} cells, not {len(cells)}."]
            continue
        # An empty cell is a missing value, not an empty string.
        raw = {column: cell for column, cell in zip(CUTOFF_COLUMNS, cells, strict=True) if cell}
        try:
            row = CutoffRowSchema().load(raw)
        except ma.ValidationError as exc:
            for name, messages in flatten_messages(exc.messages).items():
                errors[f"{where}.{name}"] = messages
            continue
        key = (row["instrument"], row["interval"], row["domain"])
        for name, message in _row_problems(row, instruments):
            errors.setdefault(f"{where}.{name}", []).append(message)
        if key in seen_at:
            errors.setdefault(f"{where}.domain", []).append(f"Repeats line {seen_at[key]}.")
        seen_at.setdefault(key, number)
        rows[key] = Cutoff(row["cutoff"], row["monitoring_to"])
    if header is None:
        errors["header"] = [f"The first row must be {','.join(CUTOFF_COLUMNS)}."]
    if not errors:
        for missing in _missing_rows(rows, instruments.values()):
            errors[".".join(map(str, missing))] = ["No row: every interval and domain needs one."]
    if errors:
        raise DataFileError(path, errors)
    return Cutoffs(path=path, is_example=is_example, rows=MappingProxyType(rows))


def _csv_lines(lines: list[str]) -> Iterable[tuple[int, list[str]]]:
    """(line number, stripped cells) of each line that is neither blank nor a comment."""
    for number, line in enumerate(lines, start=1):
        cells = [cell.strip() for cell in next(csv.reader([line]), [])]
        if not any(cells) or cells[0].startswith("#"):
            continue
        yield number, cells


def _row_problems(
    row: Mapping[str, Any], instruments: Mapping[str, Instrument]
) -> Iterable[tuple[str, str]]:
    instrument = instruments.get(row["instrument"])
    if instrument is None or instrument.method not in ASQ_METHODS:
        asq = ", ".join(code for code, i in instruments.items() if i.method in ASQ_METHODS)
        yield "instrument", f"Not an ASQ instrument: one of {asq}."
        return
    if row["interval"] not in (instrument.intervals or {}):
        yield "interval", f"Not an interval of {instrument.code}."
    if row["domain"] not in (instrument.domains or ()):
        yield (
            "domain",
            f"Not a domain of {instrument.code}: one of {', '.join(instrument.domains)}.",
        )
    top, low = instrument.domain_max, row["cutoff"]
    if instrument.method == ASQ_TOTAL:
        if row["monitoring_to"] is not None:
            yield "monitoring_to", f"Leave it empty: {instrument.code} has no monitoring zone here."
    elif low >= top:
        yield "cutoff", f"Must be below the domain's top score, {top}."
    elif row["monitoring_to"] is None:
        yield "monitoring_to", "Missing data for required field."
    elif not low < row["monitoring_to"] <= top:
        yield "monitoring_to", f"Must be above the cutoff and at most {top}."


def _missing_rows(
    rows: Mapping[tuple[str, int, str], Cutoff], instruments: Iterable[Instrument]
) -> Iterable[tuple[str, int, str]]:
    for instrument in instruments:
        if instrument.method not in ASQ_METHODS:
            continue
        for interval in instrument.intervals or {}:
            for domain in instrument.domains or ():
                if (instrument.code, interval, domain) not in rows:
                    yield instrument.code, interval, domain
