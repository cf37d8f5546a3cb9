"""The rules of a screening: who it is about, which interval it is, and its scores, all
decided by the server. Routes and /sync both call these; they flush, never commit.

A screening's answers (PHQ-9, EPDS, HITS above all) are family data of the most sensitive
kind: every read is audited (a list as ``search``, one screening as ``read``), and nothing
here logs them."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, select

from hvcase.auth.models import User
from hvcase.common.errors import ValidationFailed
from hvcase.common.reminders import remind_once
from hvcase.extensions import db
from hvcase.families.models import Caregiver, Child, Family
from hvcase.families.policy import record_denied
from hvcase.families.scope import visible_families
from hvcase.families.services import (
    agency_today,
    apply,
    audit_write,
    family_records,
    get_family_record,
    get_member,
    new_record_id,
    refuse_if_voided,
    void_record,
)
from hvcase.organisations.models import Agency
from hvcase.organisations.settings import effective
from hvcase.screenings import ages
from hvcase.screenings.catalog import catalog
from hvcase.screenings.instruments import Instrument
from hvcase.screenings.models import Screening
from hvcase.screenings.schedule import choose_interval
from hvcase.screenings.scoring import InvalidScreening, score
from hvcase.screenings.windows import schedule_of

SUBJECTS = {"child": ("child_id", Child), "caregiver": ("caregiver_id", Caregiver)}


# Reading -----------------------------------------------------------------------------------


def screenings_for(user: User, args: dict[str, Any]) -> Select:
    """Screenings of the caller's families, newest first (audited as a ``search``)."""
    filters = ("family_id", "child_id", "caregiver_id", "instrument", "result")
    stmt = family_records(user, Screening, "screening", args, filters)
    return stmt.order_by(Screening.administered_on.desc(), Screening.id)


def instruments() -> dict[str, Any]:
    """The deployment's instruments, and whether the ASQ zones come from the example cutoffs."""
    known = catalog()
    return {
        "items": [known.instruments[code].describe() for code in sorted(known.instruments)],
        "cutoffs_example": known.cutoffs.is_example,
    }


def find_screening(user: User, screening_id: uuid.UUID) -> Screening:
    """The screening in the caller's scope, else 404 (audited as ``denied``)."""
    return get_family_record(user, Screening, screening_id, "screening")


def get_screening(user: User, screening_id: uuid.UUID) -> Screening:
    """One screening, its read audited."""
    return get_family_record(user, Screening, screening_id, "screening", read=True)


# The rules ---------------------------------------------------------------------------------


def _instrument(code: str) -> Instrument:
    instrument = catalog().instruments.get(code)
    if instrument is None:
        known = ", ".join(sorted(catalog().instruments))
        raise ValidationFailed({"instrument": [f"Not an instrument here: one of {known}."]})
    return instrument


def _subject(user: User, instrument: Instrument, data: dict[str, Any]) -> Child | Caregiver:
    """The child or caregiver the screening is about, in the caller's scope and not voided;
    the other id must be absent."""
    field, model = SUBJECTS[instrument.subject]
    other = next(name for name, _ in SUBJECTS.values() if name != field)
    errors: dict[str, list[str]] = {}
    if data.get(other) is not None:
        errors[other] = [f"{instrument.code} is given to a {instrument.subject}: send {field}."]
    if data.get(field) is None:
        errors[field] = [f"{instrument.code} is given to a {instrument.subject}: required."]
    if errors:
        raise ValidationFailed(errors)
    subject = db.session.scalar(
        select(model)
        .join(Family, Family.id == model.family_id)
        .where(model.id == data[field], visible_families(user))
    )
    if subject is None:
        owner = db.session.scalar(
            select(Family.agency_id)
            .join(model, model.family_id == Family.id)
            .where(model.id == data[field])
        )
        record_denied(instrument.subject, data[field], 422, owner)
        raise ValidationFailed({field: [f"No such {instrument.subject}."]})
    if subject.voided_at is not None:
        raise ValidationFailed({field: [f"This {instrument.subject} is voided."]})
    return subject


def _interval(
    instrument: Instrument, child: Child, on: date, requested: int | None, settings: dict
) -> int | None:
    """The interval of a child questionnaire: the one sent, whose window must hold the
    child's screening age on ``on``, else the one whose window does (the nearest where
    windows overlap). None for an instrument without intervals."""
    windows = instrument.windows
    if not windows:
        if requested is not None:
            raise ValidationFailed({"interval": [f"{instrument.code} has no intervals."]})
        return None
    if on < child.birth_date:
        raise ValidationFailed({"administered_on": ["Before the child's birth."]})
    age = ages.screening_age(
        child.birth_date,
        on,
        child.gestational_age_weeks,
        child.gestational_age_days,
        settings["full_term_weeks"],
    )
    fitting = choose_interval(windows, age)
    if requested is None:
        if fitting is None:
            raise ValidationFailed(
                {"administered_on": [f"No {instrument.code} interval fits an age of {age}."]}
            )
        return fitting
    if requested not in windows:
        offered = ", ".join(str(n) for n in sorted(windows))
        raise ValidationFailed({"interval": [f"Not an interval of {instrument.code}: {offered}."]})
    start, end = windows[requested]
    if not start <= age <= end:
        right = f"the {fitting}-month questionnaire fits" if fitting else "no interval fits"
        raise ValidationFailed(
            {"interval": [f"At {age} the child is outside the {requested}-month window: {right}."]}
        )
    return requested


def _scored_values(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """The screening's columns as the server decides them: subject, family, interval and
    scores, each rule a 422 naming its field."""
    instrument = _instrument(data["instrument"])
    subject = _subject(user, instrument, data)
    family = subject.family
    refuse_if_voided(family)
    on = data["administered_on"]
    if on > agency_today(user):
        raise ValidationFailed({"administered_on": ["Cannot be after today."]})
    settings = effective(db.session.get(Agency, family.agency_id).settings)
    interval = (
        _interval(instrument, subject, on, data.get("interval"), settings)
        if instrument.subject == "child"
        else data.get("interval")
    )
    try:
        scored = score(
            instrument,
            responses=data.get("responses"),
            domain_scores=data.get("domain_scores"),
            interval=interval,
            settings=settings,
            cutoffs=catalog().cutoffs,
        )
    except InvalidScreening as invalid:
        raise ValidationFailed(dict(invalid.errors)) from None
    return {
        "family_id": family.id,
        "child_id": subject.id if instrument.subject == "child" else None,
        "caregiver_id": subject.id if instrument.subject == "caregiver" else None,
        "instrument": instrument.code,
        "interval": interval,
        "administered_on": on,
        "responses": data.get("responses"),
        "domain_scores": scored.domain_scores,
        "total": scored.total,
        "zones": scored.zones,
        "result": scored.result,
        "referral_recommended": scored.referral_recommended,
        "urgent": scored.urgent,
    }


def _alert_if_urgent(screening: Screening) -> None:
    """An urgent result alerts the home visitor's supervisor at once (API.md): an
    ``urgent_screening`` reminder recorded in this transaction, once per screening. A family
    with no home visitor, or one without a supervisor, alerts the agency's admins instead
    (an urgent result is never only a number in a report)."""
    if not screening.urgent:
        return
    family = screening.family
    visitor = db.session.get(User, family.home_visitor_id) if family.home_visitor_id else None
    if visitor is not None and visitor.role == "supervisor":
        recipients = [visitor.id]
    elif visitor is not None and visitor.supervisor_id is not None:
        recipients = [visitor.supervisor_id]
    else:
        recipients = list(
            db.session.scalars(
                select(User.id).where(
                    User.agency_id == family.agency_id,
                    User.role == "agency_admin",
                    User.active.is_(True),
                )
            )
        )
    for recipient in recipients:
        remind_once(
            agency_id=family.agency_id,
            kind="urgent_screening",
            subject_id=screening.id,
            recipient_id=recipient,
            family_id=family.id,
        )


# Writing -----------------------------------------------------------------------------------


def create_screening(
    user: User, data: dict[str, Any], screening_id: uuid.UUID | None = None
) -> Screening:
    """A new screening: POST (the body's ``id``, if any, must be new) or PUT of an unused id."""
    values = _scored_values(user, data)  # the body's rules (422) before the id's state (409)
    screening = Screening(
        id=new_record_id(Screening, data, screening_id), administered_by=user.id, **values
    )
    db.session.add(screening)
    db.session.flush()
    _alert_if_urgent(screening)
    audit_write("create", "screening", screening)
    return screening


def replace_screening(user: User, screening: Screening, data: dict[str, Any]) -> Screening:
    """PUT of an existing screening: scored again from what is sent. Its subject (and so its
    family) never changes."""
    refuse_if_voided(screening)
    values = _scored_values(user, data)
    for field in ("child_id", "caregiver_id"):
        if values[field] != getattr(screening, field):
            raise ValidationFailed({field: ["A screening's subject cannot change."]})
    changed = apply(screening, values)
    db.session.flush()
    if changed:
        _alert_if_urgent(screening)
        audit_write("update", "screening", screening)
    return screening


def put_screening(
    user: User, screening_id: uuid.UUID, data: dict[str, Any], current: Screening | None
) -> tuple[Screening, bool]:
    """PUT: create the screening with this id (True), or replace ``current`` (False)."""
    if current is None:
        return create_screening(user, data, screening_id), True
    return replace_screening(user, current, data), False


def void_screening(user: User, screening: Screening, reason: str | None) -> Screening:
    void_record(screening, reason, "screening", screening.family.agency_id)
    return screening


# A child's age and schedule ----------------------------------------------------------------


def _settings_of(child: Child) -> dict[str, Any]:
    return effective(db.session.get(Agency, child.family.agency_id).settings)


def get_child(user: User, child_id: uuid.UUID) -> Child:
    """The child, in the caller's scope (else 404), its read audited."""
    return get_member(user, Child, child_id, read=True)


def child_age(user: User, child: Child, on: date | None) -> dict[str, Any]:
    """The child's chronological and corrected age on ``on`` (the agency's today by
    default); corrected is None when no correction applies (DESIGN.md)."""
    on = on or agency_today(user)
    if on < child.birth_date:
        raise ValidationFailed({"on": ["Before the child's birth."]})
    corrected = ages.corrected_age(
        child.birth_date,
        on,
        child.gestational_age_weeks,
        child.gestational_age_days,
        _settings_of(child)["full_term_weeks"],
    )
    chronological = ages.age_on(child.birth_date, on)
    return {
        "chronological": {"months": chronological.months, "days": chronological.days},
        "corrected": None
        if corrected is None
        else {"months": corrected.months, "days": corrected.days},
    }


def child_schedule(user: User, child: Child) -> dict[str, Any]:
    """Every interval the agency requires, its window and its status on the agency's today
    against the screenings recorded (API.md; hvcase/screenings/schedule.py)."""
    recorded: dict[str, dict[int, uuid.UUID]] = {}
    rows = db.session.execute(
        select(Screening.instrument, Screening.interval, Screening.id)
        .where(Screening.child_id == child.id, Screening.voided_at.is_(None))
        .order_by(Screening.administered_on, Screening.id)
    )
    for instrument, interval, screening_id in rows:
        recorded.setdefault(instrument, {}).setdefault(interval, screening_id)
    settings, instruments = _settings_of(child), catalog().instruments
    return {"items": schedule_of(child, settings, instruments, recorded, agency_today(user))}
