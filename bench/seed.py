"""The benchmark's data set, at the scale of DESIGN.md: one coalition of 12 agencies (a lead
and 11 members), 240 home visitors with a supervisor for every 8 and an agency admin in every
agency, 12,000 families (about 50 a home visitor) with their caregivers, children, enrollment
episode and assignment, about 900,000 visits over 3 years, and the screenings and
observations of those years: each child's required screening windows (``screening_windows``),
about 150,000 screenings (the children's ASQ-3 and ASQ:SE-2 at their intervals, the caregivers'
PHQ-9 or EPDS and HITS) and about 100,000 observations.

Rows are built in Python from ``random.Random(42)`` (the same data every run; visits from a
second generator, so that adding them left the households as they were) and written with Core
``insert()`` executemany in batches: the ORM's unit of work, one object at a time, would take
many times longer. Referrals join the data set as their module is built.

Every synced row (families, caregivers, children, assignments, visits, screenings,
observations) carries the change number ``SEEDED_CHANGE``, as if one transaction before any
tablet synced had written them all: a row without one is a row its transaction has not stamped
yet, and the next commit anywhere would stamp them all (hvcase/sync/clock.py).

``python -m bench.seed`` wipes the benchmark database and seeds it.
"""

from __future__ import annotations

import gc
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from itertools import accumulate, islice
from operator import itemgetter
from types import SimpleNamespace
from typing import Any

import flask_migrate
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, Table, func, insert, select, text

from bench import bench_database_url, ensure_database, make_app
from bench.names import (
    CHILDREN,
    CITIES,
    FATHERS,
    GRANDPARENTS,
    LAST_NAMES,
    MOTHERS,
    STREETS,
)
from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.common.reminders import Reminder
from hvcase.common.text import name_key
from hvcase.extensions import db
from hvcase.families import codes
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.organisations.models import Agency
from hvcase.organisations.settings import effective
from hvcase.screenings.catalog import Catalog, catalog
from hvcase.screenings.models import Observation, Screening, ScreeningWindow
from hvcase.screenings.scoring import score
from hvcase.screenings.windows import mark_done, window_rows
from hvcase.visits import codes as visit_codes
from hvcase.visits.models import Visit

SEED = 42
MEMBER_AGENCIES = 11
HOME_VISITORS = 240
VISITORS_PER_SUPERVISOR = 8
FAMILIES = 12_000
HISTORY_DAYS = 3 * 365
VISITS = 900_000
BATCH = 2_000
SCREENINGS = 150_000  # about: what the cadences below give, not a quota
OBSERVATIONS = 100_000  # about, likewise
# Written with COPY rather than executemany (see ``copy``).
COPIED = frozenset({"visits", "screening_windows", "screenings", "observations"})
SEEDED_CHANGE = 0
PASSWORD = "bench-password-not-secret"
EMAIL_DOMAIN = "bench.example.org"

MODELS = ("PAT", "HFA", "NFP", "EHS", "SafeCare", "PAT", "HFA", "PAT", "NFP", "EHS", "HFA")
TIMEZONES = ("America/Chicago", "America/Chicago", "America/Chicago", "America/Denver")
LANGUAGES = (("en", 60), ("es", 22), ("so", 6), ("hmn", 6), ("vi", 3), ("ar", 3))
# Past visits: (status, weight); an enrolled family also has 1 to 3 booked ahead.
VISIT_OUTCOMES = (("completed", 82), ("missed", 10), ("cancelled", 8))
LOCATIONS = (("home", 85), ("virtual", 8), ("community", 5), ("other", 2))
VOIDED_VISITS = 0.004
DRIFTED = 0.08  # enrolled families not visited for a month or more
UPCOMING_DAYS = 28
OFFICE_OPENS = time_of_day(14, tzinfo=UTC)  # 8 or 9 in the morning in the Midwest
# The bits of a version 4 UUID, set on a random 128-bit number.
UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
UUID4_SET = (0x8000 << 48) | (4 << 76)
# Screenings: how a home visitor gives a child's required interval (weights out of 100).
CHILD_SCREENS = {"on_time": 76, "late": 13, "missed": 11}
ASQ_POSITIVE = 0.12  # an ASQ-3 with a domain below its cutoff
ASQSE_POSITIVE = 0.10
DEPRESSION_EVERY_DAYS = 135  # the primary caregiver's PHQ-9 or EPDS, give or take 20 days
DEPRESSION_POSITIVE = 0.11  # not urgent; with the urgent ones, about 12% positive
URGENT = 0.015  # PHQ-9 item 9 or EPDS item 10 above 0
IPV_EVERY_DAYS = 365
IPV_POSITIVE = 0.05
SECOND_CAREGIVER_EVERY_DAYS = 365
SKIPPED_CAREGIVER_SCREEN = 0.1
POOL = 40  # scored answers of each kind, for each instrument and interval
VOIDED_RECORDS = 0.003
EDUCATION_ENROLLMENT = (
    "not_enrolled",
    "not_enrolled",
    "enrolled_secondary",
    "completed_secondary",
    "enrolled_postsecondary",
)
INTERACTION_TOOLS = ("PICCOLO", "PICCOLO", "NCAST", "KIPS", "HOME")
# (age in months, code, share answered true) asked once about each child of that age.
CHILD_MILESTONES = ((1, "breastfeeding", 0.6), (6, "breastfeeding", 0.35), (1, "safe_sleep", 0.8))
VISIT_NOTES = (
    "Reviewed the week's goals; caregiver practised reading aloud.",
    "Discussed sleep routines and safe sleep.",
    "Brought the ASQ materials; follow up next visit.",
    "Caregiver asked about WIC; gave the office's number.",
    "Played the stacking-cups activity together.",
)


def admin_email(agency_number: int) -> str:
    return f"admin.a{agency_number:02d}@{EMAIL_DOMAIN}"


def supervisor_email(agency_number: int, n: int) -> str:
    return f"supervisor{n}.a{agency_number:02d}@{EMAIL_DOMAIN}"


def visitor_email(agency_number: int, n: int) -> str:
    return f"visitor{n:02d}.a{agency_number:02d}@{EMAIL_DOMAIN}"


@dataclass
class Rows:
    """Every row to insert, by table, in an order the foreign keys accept."""

    agencies: list[dict[str, Any]] = field(default_factory=list)
    supervisors: list[dict[str, Any]] = field(default_factory=list)
    other_users: list[dict[str, Any]] = field(default_factory=list)
    families: list[dict[str, Any]] = field(default_factory=list)
    caregivers: list[dict[str, Any]] = field(default_factory=list)
    children: list[dict[str, Any]] = field(default_factory=list)
    enrollments: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    screening_windows: list[dict[str, Any]] = field(default_factory=list)
    screenings: list[dict[str, Any]] = field(default_factory=list)
    observations: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
        yield Agency.__table__, self.agencies
        yield User.__table__, self.supervisors  # visitors refer to their supervisor
        yield User.__table__, self.other_users
        yield Family.__table__, self.families
        yield Caregiver.__table__, self.caregivers
        yield Child.__table__, self.children
        yield Enrollment.__table__, self.enrollments
        yield Assignment.__table__, self.assignments
        yield Visit.__table__, self.visits
        yield ScreeningWindow.__table__, self.screening_windows
        yield Screening.__table__, self.screenings
        yield Observation.__table__, self.observations
        yield Reminder.__table__, self.reminders  # about urgent screenings


@dataclass(frozen=True)
class Household:
    """What the visits of a family need to know of it."""

    family_id: uuid.UUID
    visitor_id: uuid.UUID
    participants: str  # JSON text: the primary caregiver's id, as a visit's participants hold it
    enrolled_on: date
    discharged_on: date | None


class Generator:
    """Builds the rows; every choice comes from one ``random.Random(42)``."""

    def __init__(self, today: date, password_hash: str) -> None:
        self.rng = random.Random(SEED)
        self.today = today
        self.password_hash = password_hash
        self.rows = Rows()
        self.households: list[Household] = []
        self.last_names = _cumulative_zipf(LAST_NAMES)
        self.languages = list(accumulate(weight for _, weight in LANGUAGES))

    # Ids and times ---------------------------------------------------------------------

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def moment(self, day: date) -> datetime:
        """A time of day on ``day``, in UTC (office hours in the Midwest)."""
        return datetime(day.year, day.month, day.day, 14, tzinfo=UTC) + timedelta(
            minutes=self.rng.randrange(8 * 60)
        )

    def stamps(self, day: date) -> dict[str, Any]:
        at = self.moment(day)
        return {"version": 1, "created_at": at, "updated_at": at}

    def synced(self, day: date) -> dict[str, Any]:
        """The stamps of a record tablets pull, with its change number."""
        return {**self.stamps(day), "change_seq": SEEDED_CHANGE}

    def last_name(self) -> str:
        return self.rng.choices(LAST_NAMES, cum_weights=self.last_names)[0]

    # Organisations and staff -----------------------------------------------------------

    def build(self) -> Rows:
        lead_id = self.new_id()
        self.agency(lead_id, "Riverbend Family Coalition", "lead", None, "other", 0)
        self.user(admin_email(0), "Coalition Admin", "agency_admin", lead_id)
        visitors = _split(HOME_VISITORS, MEMBER_AGENCIES)
        caseloads = self.caseloads(HOME_VISITORS, FAMILIES)
        first_visitor = 0
        for number in range(1, MEMBER_AGENCIES + 1):
            agency_id = self.new_id()
            name = f"{self.rng.choice(CITIES)[0]} {MODELS[number - 1]} Program {number:02d}"
            self.agency(
                agency_id, name, "member", lead_id, MODELS[number - 1], float(2 + number % 3)
            )
            self.user(
                admin_email(number), f"Admin of agency {number:02d}", "agency_admin", agency_id
            )
            count = visitors[number - 1]
            supervisors = [
                self.user(
                    supervisor_email(number, n + 1),
                    self.staff_name(),
                    "supervisor",
                    agency_id,
                    into=self.rows.supervisors,
                )
                for n in range(-(-count // VISITORS_PER_SUPERVISOR))
            ]
            for n in range(count):
                visitor_id = self.user(
                    visitor_email(number, n + 1),
                    self.staff_name(),
                    "home_visitor",
                    agency_id,
                    supervisor_id=supervisors[n // VISITORS_PER_SUPERVISOR],
                )
                supervisor_id = supervisors[n // VISITORS_PER_SUPERVISOR]
                for _ in range(caseloads[first_visitor + n]):
                    self.family(agency_id, visitor_id, supervisor_id)
            first_visitor += count
        Visits(self.today, self.households, self.rows.visits).build()
        return self.rows

    def agency(
        self,
        agency_id: uuid.UUID,
        name: str,
        kind: str,
        lead_id: uuid.UUID | None,
        model: str,
        visits: float,
    ) -> None:
        self.rows.agencies.append(
            {
                "id": agency_id,
                "name": name,
                "kind": kind,
                "lead_agency_id": lead_id,
                "model": model,
                "timezone": self.rng.choice(TIMEZONES),
                "expected_visits_per_month": visits,
                "settings": {},
                **self.stamps(self.today - timedelta(days=HISTORY_DAYS + 30)),
            }
        )

    def staff_name(self) -> str:
        first = self.rng.choice(MOTHERS + FATHERS)
        return f"{first} {self.last_name()}"

    def user(
        self,
        email: str,
        name: str,
        role: str,
        agency_id: uuid.UUID,
        supervisor_id: uuid.UUID | None = None,
        into: list[dict[str, Any]] | None = None,
    ) -> uuid.UUID:
        user_id = self.new_id()
        (self.rows.other_users if into is None else into).append(
            {
                "id": user_id,
                "email": email,
                "name": name,
                "role": role,
                "agency_id": agency_id,
                "supervisor_id": supervisor_id,
                "password_hash": self.password_hash,
                "active": True,
                **self.stamps(self.today - timedelta(days=HISTORY_DAYS)),
            }
        )
        return user_id

    def caseloads(self, visitors: int, families: int) -> list[int]:
        """About ``families / visitors`` each, between 80% and 120% of it, summing exactly."""
        mean = families // visitors
        loads = [mean] * visitors
        for i in range(0, visitors - 1, 2):
            shift = self.rng.randint(0, mean // 5)
            loads[i] += shift
            loads[i + 1] -= shift
        loads[-1] += families - sum(loads)
        return loads

    # Households ------------------------------------------------------------------------

    def family(self, agency_id: uuid.UUID, visitor_id: uuid.UUID, supervisor_id: uuid.UUID) -> None:
        rng, today = self.rng, self.today
        family_id = self.new_id()
        enrolled_on = today - timedelta(days=rng.randrange(HISTORY_DAYS))
        discharged_on = None
        reason = None
        if (today - enrolled_on).days > 120 and rng.random() < 0.18:
            discharged_on = enrolled_on + timedelta(
                days=rng.randrange(90, (today - enrolled_on).days)
            )
            reason = rng.choice(codes.DISCHARGE_REASONS)
        family_name = self.last_name()
        city, county, zip_prefix = rng.choice(CITIES)
        child_count = rng.choices((0, 1, 2), weights=(25, 55, 20))[0]
        pregnant = child_count == 0 or rng.random() < 0.08
        expected = today + timedelta(days=rng.randrange(10, 200)) if pregnant else None
        language = rng.choices(LANGUAGES, cum_weights=self.languages)[0][0]
        self.rows.families.append(
            {
                "id": family_id,
                "agency_id": agency_id,
                "home_visitor_id": visitor_id,
                "status": "discharged" if discharged_on else "enrolled",
                "enrolled_on": enrolled_on,
                "discharged_on": discharged_on,
                "discharge_reason": reason,
                "referral_source": rng.choice(codes.REFERRAL_SOURCES),
                "preferred_language": language,
                "address": {
                    "street": f"{rng.randrange(100, 9999)} {rng.choice(STREETS)}",
                    "city": city,
                    "state": "MN",
                    "postal_code": f"{zip_prefix}{rng.randrange(100):02d}",
                    "county": county,
                },
                "phone": f"+1612{rng.randrange(2_000_000, 9_999_999)}"
                if rng.random() < 0.9
                else None,
                "email": None,
                "consent": {"sms_reminders": rng.random() < 0.7, "email_reminders": False},
                "risk_factors": sorted(rng.sample(codes.RISK_FACTORS[:-1], rng.randrange(4))),
                "household_size": 1 + child_count + rng.randrange(1, 4),
                "annual_income": rng.randrange(4_000, 60_000, 500),
                "expected_delivery_date": expected if not discharged_on else None,
                "voided_at": None,
                "void_reason": None,
                **self.synced(enrolled_on),
            }
        )
        primary_birth = enrolled_on - timedelta(days=rng.randrange(17 * 365, 40 * 365))
        primary_id = self.caregiver(
            family_id, enrolled_on, family_name, primary_birth, primary=True
        )
        if rng.random() < 0.45:
            self.caregiver(family_id, enrolled_on, family_name, None, primary=False)
        for _ in range(child_count):
            self.child(family_id, enrolled_on, family_name, primary_birth)
        at = self.moment(enrolled_on)
        self.rows.enrollments.append(
            {
                "id": self.new_id(),
                "family_id": family_id,
                "enrolled_on": enrolled_on,
                "discharged_on": discharged_on,
                "discharge_reason": reason,
                "discharge_note": None,
                "created_at": at,
            }
        )
        self.rows.assignments.append(
            {
                "id": self.new_id(),
                "family_id": family_id,
                "home_visitor_id": visitor_id,
                "assigned_at": at,
                "assigned_by": supervisor_id,
                "note": "enrollment",
                "change_seq": SEEDED_CHANGE,
            }
        )
        self.households.append(
            Household(
                family_id, visitor_id, json.dumps([str(primary_id)]), enrolled_on, discharged_on
            )
        )

    def caregiver(
        self,
        family_id: uuid.UUID,
        enrolled_on: date,
        family_name: str,
        birth_date: date | None,
        *,
        primary: bool,
    ) -> uuid.UUID:
        rng = self.rng
        if primary:
            relationship = rng.choices(
                ("mother", "father", "grandparent", "foster_parent", "guardian"),
                weights=(85, 6, 5, 2, 2),
            )[0]
        else:
            relationship = rng.choices(("father", "grandparent", "other"), weights=(75, 20, 5))[0]
        first = rng.choice(
            {"mother": MOTHERS, "father": FATHERS, "grandparent": GRANDPARENTS}.get(
                relationship, MOTHERS
            )
        )
        last = family_name if rng.random() < 0.6 else self.last_name()
        if birth_date is None and rng.random() < 0.7:
            birth_date = enrolled_on - timedelta(days=rng.randrange(18 * 365, 45 * 365))
        caregiver_id = self.new_id()
        self.rows.caregivers.append(
            {
                "id": caregiver_id,
                "family_id": family_id,
                "first_name": first,
                "last_name": last,
                "name_key": name_key(first, last),
                "birth_date": birth_date,
                "relationship": relationship,
                "primary": primary,
                "education": rng.choice(codes.EDUCATION),
                "employment": rng.choice(codes.EMPLOYMENT),
                "insurance": rng.choice(codes.INSURANCE),
                "voided_at": None,
                "void_reason": None,
                **self.synced(enrolled_on),
            }
        )
        return caregiver_id

    def child(
        self, family_id: uuid.UUID, enrolled_on: date, family_name: str, parent_birth: date
    ) -> None:
        rng = self.rng
        earliest = max(
            enrolled_on - timedelta(days=2 * 365), parent_birth + timedelta(days=15 * 365)
        )
        span = max((self.today - earliest).days, 1)
        birth_date = earliest + timedelta(days=rng.randrange(span))
        weeks = rng.choices((None, 34, 36, 38, 39, 40, 41), weights=(10, 4, 6, 20, 30, 25, 5))[0]
        first = rng.choice(CHILDREN)
        self.rows.children.append(
            {
                "id": self.new_id(),
                "family_id": family_id,
                "first_name": first,
                "last_name": family_name,
                "name_key": name_key(first, family_name),
                "birth_date": birth_date,
                "sex": rng.choice(("F", "M")),
                "gestational_age_weeks": weeks,
                "gestational_age_days": rng.randrange(7) if weeks else None,
                "birth_weight_grams": rng.randrange(2_200, 4_300, 10) if weeks else None,
                "enrolled": True,
                "voided_at": None,
                "void_reason": None,
                **self.synced(max(birth_date, enrolled_on)),
            }
        )


class Visits:
    """About ``VISITS`` visits, spread over the days each family has been enrolled (until its
    discharge, or yesterday): about one a week (some families more often than others; 8% of
    enrolled families not seen for a month or more), most of them completed, some missed or
    cancelled, a few voided; an enrolled family also has 1 to 3 booked in the next four weeks.
    A visit's fields agree as the API's rules want them to: a completed visit has started_at,
    duration_minutes and ended_at = started_at + duration; occurs_at is started_at, else
    scheduled_for; participants hold the primary caregiver's id.

    Nearly a million rows: each takes a few calls of ``random()`` and table look-ups rather than
    ``randrange``, ``choices`` and ``sample``, which would take most of the seeding's time. They
    are written with COPY (see ``copy``), so the JSON columns hold JSON text already."""

    def __init__(self, today: date, households: list[Household], into: list[dict[str, Any]]):
        rng = self.rng = random.Random(SEED + 1)
        self.today = today
        self.households = households
        self.rows = into
        self.now = datetime.now(UTC)
        self.outcomes = _table(VISIT_OUTCOMES)
        self.locations = _table(LOCATIONS)
        topics = visit_codes.TOPICS[:-1]  # "other" only now and then
        self.topic_sets = [
            json.dumps(
                sorted(rng.sample(topics, rng.randint(1, 4)))
                + (["other"] if rng.random() < 0.03 else [])
            )
            for _ in range(1_000)
        ]
        self.durations = [5 * round(rng.triangular(30, 120, 60) / 5) for _ in range(1_000)]

    def build(self) -> None:
        rng = self.rng
        yesterday = self.today - timedelta(days=1)
        spans, weights, upcoming = [], [], []
        for h in self.households:
            # The days a family is visited: from its enrollment to its discharge, or yesterday;
            # a family that has drifted away has not been seen for a month or more.
            last = h.discharged_on or yesterday
            if h.discharged_on is None and rng.random() < DRIFTED:
                last -= timedelta(days=rng.randint(31, 90))
            spans.append(max((last - h.enrolled_on).days + 1, 0))
            weights.append(spans[-1] * rng.uniform(0.6, 1.4))  # some are seen more often
            upcoming.append(rng.randint(1, 3) if h.discharged_on is None else 0)
        visits_per_weight = (VISITS - sum(upcoming)) / sum(weights)
        for household, span, weight, ahead in zip(
            self.households, spans, weights, upcoming, strict=True
        ):
            # A whole number of visits, rounded up or down at random so the total is right.
            share = weight * visits_per_weight
            self.past(household, span, int(share) + (rng.random() < share % 1))
            self.booked(household, ahead)
        # In the order they were recorded, as a live table holds them: a family's visits spread
        # over the table (three years of weekly visits), not side by side in a few pages.
        self.rows.sort(key=itemgetter("created_at"))

    def past(self, household: Household, span: int, count: int) -> None:
        random, add, now = self.rng.random, self.rows.append, self.now
        outcomes, durations = self.outcomes, self.durations
        topic_sets, notes, reasons = self.topic_sets, VISIT_NOTES, visit_codes.MISSED_REASONS
        first = datetime.combine(household.enrolled_on, OFFICE_OPENS)
        for n in range(count):
            # A half hour of office hours on the n-th of ``count`` stretches of the span.
            scheduled = first + timedelta(
                days=int((n + random()) * span / count), minutes=30 * int(random() * 16)
            )
            booked_at = scheduled - timedelta(minutes=1_440 + int(random() * 13 * 1_440))
            status = outcomes[int(random() * 100)]
            row = self.row(household, status, scheduled, booked_at)
            if status == "completed":
                started = scheduled + timedelta(minutes=int(random() * 25) - 5)
                minutes = durations[int(random() * 1_000)]
                ended = started + timedelta(minutes=minutes)
                row["started_at"] = row["occurs_at"] = started
                row["ended_at"] = ended
                row["duration_minutes"] = minutes
                row["topics"] = topic_sets[int(random() * 1_000)]
                if random() < 0.25:
                    row["notes"] = notes[int(random() * len(notes))]
                row["updated_at"] = min(ended + timedelta(minutes=10 + int(random() * 2_870)), now)
            else:
                if status == "missed":
                    row["missed_reason"] = reasons[int(random() * len(reasons))]
                row["updated_at"] = min(scheduled + timedelta(minutes=int(random() * 600)), now)
            if random() < VOIDED_VISITS:
                row["voided_at"] = row["updated_at"]
                row["void_reason"] = "Entered in error."
            add(row)

    def booked(self, household: Household, count: int) -> None:
        random = self.rng.random
        first = datetime.combine(self.today, OFFICE_OPENS)
        for n in range(count):
            scheduled = first + timedelta(
                days=1 + int((n + random()) * UPCOMING_DAYS / count),
                minutes=30 * int(random() * 16),
            )
            booked_at = self.now - timedelta(minutes=int(random() * 14 * 1_440))
            self.rows.append(self.row(household, "scheduled", scheduled, booked_at))

    def row(
        self, household: Household, status: str, scheduled: datetime, booked_at: datetime
    ) -> dict[str, Any]:
        return {
            "id": uuid.UUID(int=self.rng.getrandbits(128) & UUID4_CLEAR | UUID4_SET),
            "family_id": household.family_id,
            "home_visitor_id": household.visitor_id,
            "status": status,
            "scheduled_for": scheduled,
            "started_at": None,
            "ended_at": None,
            "duration_minutes": None,
            "occurs_at": scheduled,
            "location": self.locations[int(self.rng.random() * 100)],
            "participants": household.participants,
            "topics": "[]",
            "missed_reason": None,
            "notes": None,
            "version": 1,
            "created_at": booked_at,
            "updated_at": booked_at,
            "voided_at": None,
            "void_reason": None,
            "change_seq": SEEDED_CHANGE,
        }


class Screenings:
    """Each child's required screening windows, and the screenings given in them and to the
    caregivers, from ``random.Random(44)`` (so that adding them left the households and visits
    as they were). Everything is dated within the family's enrollment and no later than
    yesterday (the agency's today may still be yesterday in UTC), and given by the family's
    home visitor.

    - Windows: ``hvcase.screenings.windows.window_rows`` for every child, as the app keeps
      them (the agency's settings; all agencies have the defaults here).
    - Children: for each required ASQ-3 and ASQ:SE-2 interval whose window the family is
      enrolled in, the home visitor plans a day: mostly by the interval's age (on time), some
      after it (late, still in the window), some never (missed); the ASQ:SE-2 goes with the
      same interval's ASQ-3 when that day is in its window too. A day still ahead, or after the
      family left, is not given (an open window is due or overdue today).
    - Caregivers: the primary caregiver's depression screen soon after enrollment, then about
      every four and a half months (some skipped): the EPDS for a mother expecting or in her
      child's first year, the PHQ-9 otherwise; a second caregiver's PHQ-9 now and then; HITS
      at enrollment and about yearly.
    - Scores: for each instrument (and interval) a small pool of answers scored once by
      ``hvcase.screenings.scoring.score`` with the catalog's instruments and cutoffs (the
      shipped example cutoffs) and the agency's settings, sorted by what they score (negative,
      positive, urgent); each screening reuses one, the pool chosen for the rates wanted:
      ``DEPRESSION_POSITIVE`` and ``URGENT`` make about 12% of depression screens positive.
    - An urgent screening has its ``urgent_screening`` reminder for the supervisor, as the app
      records it (``pending`` in its last day, ``sent`` before: a worker would have sent it).

    The JSON columns hold JSON text (the table goes by COPY), ``null`` where the app stores
    JSON null."""

    def __init__(self, today: date, rows: Rows, known: Catalog) -> None:
        self.rng = random.Random(SEED + 2)
        self.last = today - timedelta(days=1)
        self.rows = rows
        self.known = known
        self.now = datetime.now(UTC)
        self.settings = {a["id"]: effective(a["settings"]) for a in rows.agencies}
        self.supervisor_of = {u["id"]: u["supervisor_id"] for u in rows.other_users}
        self.pools: dict[tuple[Any, ...], dict[str, list[dict[str, Any]]]] = {}

    def build(self) -> None:
        caregivers, children = _by_family(self.rows.caregivers), _by_family(self.rows.children)
        for family in self.rows.families:
            settings = self.settings[family["agency_id"]]
            end = min(family["discharged_on"] or self.last, self.last)
            kids = children.get(family["id"], [])
            for child in kids:
                windows = window_rows(
                    SimpleNamespace(**child), family["id"], settings, self.known.instruments
                )
                self.rows.screening_windows.extend(windows)
                self.child(family, child["id"], windows, settings, end)
            self.caregivers(family, caregivers[family["id"]], kids, settings, end)
        self.rows.screenings.sort(key=itemgetter("created_at"))  # as recorded (see Visits)

    # Children --------------------------------------------------------------------------

    def child(
        self,
        family: dict[str, Any],
        child_id: uuid.UUID,
        windows: list[dict[str, Any]],
        settings: dict[str, Any],
        end: date,
    ) -> None:
        asq_days: dict[int, date] = {}  # the ASQ-3 of each interval, planned
        for window in windows:  # ASQ-3 first (window_rows follows the required intervals)
            instrument, interval = window["instrument"], window["interval"]
            first, last = max(window["window_start"], family["enrolled_on"]), window["window_end"]
            if first > last:
                continue  # closed before the family enrolled
            day = asq_days.get(interval) if instrument == "asqse2" else None
            if day is None or not first <= day <= last:
                day = self.planned_day(first, window["due_on"], last)
            if day is None:
                continue  # missed
            if instrument == "asq3":
                asq_days[interval] = day
            if day <= end:
                rates = ASQ_POSITIVE if instrument == "asq3" else ASQSE_POSITIVE
                fragment = self.pick(instrument, interval, settings, rates)
                self.add(family, day, instrument, interval, fragment, child_id=child_id)

    def planned_day(self, first: date, due_on: date, last: date) -> date | None:
        """The day a home visitor gives an interval's questionnaire in the window's days
        ``first`` to ``last``: on time (by ``due_on``, the interval's age), late (after it)
        or never, weighted by ``CHILD_SCREENS``; a window entered late is given late."""
        random = self.rng.random
        how = random() * 100
        if how >= CHILD_SCREENS["on_time"] + CHILD_SCREENS["late"]:
            return None
        if how < CHILD_SCREENS["on_time"] and first <= due_on:
            last = min(due_on, last)
        else:
            first = max(first, min(due_on + timedelta(days=1), last))
        return first + timedelta(days=int(random() * ((last - first).days + 1)))

    # Caregivers ------------------------------------------------------------------------

    def caregivers(
        self,
        family: dict[str, Any],
        caregivers: list[dict[str, Any]],
        children: list[dict[str, Any]],
        settings: dict[str, Any],
        end: date,
    ) -> None:
        random = self.rng.random
        primary = next(c for c in caregivers if c["primary"])
        births = [child["birth_date"] for child in children]
        expecting = family["expected_delivery_date"] is not None
        enrolled_on = family["enrolled_on"]
        day = enrolled_on + timedelta(days=int(random() * 21))
        while day <= end:
            if random() >= SKIPPED_CAREGIVER_SCREEN:
                postpartum = any(0 <= (day - birth).days <= 365 for birth in births)
                mother = primary["relationship"] == "mother"
                code = "epds" if mother and (postpartum or expecting) else "phq9"
                self.caregiver(family, primary, day, code, settings)
            day += timedelta(days=DEPRESSION_EVERY_DAYS - 20 + int(random() * 41))
        for caregiver in caregivers:
            if caregiver["primary"]:
                every, chance = IPV_EVERY_DAYS, 1 - SKIPPED_CAREGIVER_SCREEN
                code = "ipv"
            else:
                every, chance, code = SECOND_CAREGIVER_EVERY_DAYS, 0.5, "phq9"
            day = enrolled_on + timedelta(days=int(random() * 45))
            while day <= end:
                if random() < chance:
                    self.caregiver(family, caregiver, day, code, settings)
                day += timedelta(days=every - 30 + int(random() * 61))

    def caregiver(
        self,
        family: dict[str, Any],
        caregiver: dict[str, Any],
        day: date,
        code: str,
        settings: dict[str, Any],
    ) -> None:
        random = self.rng.random
        if code == "ipv":
            fragment = self.pick(code, None, settings, IPV_POSITIVE)
        elif random() < URGENT:
            fragment = self.choose(self.pool(code, None, settings)["urgent"])
        else:
            fragment = self.pick(code, None, settings, DEPRESSION_POSITIVE)
        self.add(family, day, code, None, fragment, caregiver_id=caregiver["id"])

    # Scores ----------------------------------------------------------------------------

    def pick(
        self, code: str, interval: int | None, settings: dict[str, Any], positive: float
    ) -> dict[str, Any]:
        """A scored answer of the instrument, positive (not urgent) with probability
        ``positive``, else negative and not urgent."""
        pool = self.pool(code, interval, settings)
        return self.choose(pool["positive" if self.rng.random() < positive else "negative"])

    def choose(self, fragments: list[dict[str, Any]]) -> dict[str, Any]:
        return fragments[int(self.rng.random() * len(fragments))]

    def pool(
        self, code: str, interval: int | None, settings: dict[str, Any]
    ) -> dict[str, list[dict[str, Any]]]:
        """Answers of the instrument scored by the server's rules, sorted by what they score:
        ``negative`` and ``positive`` (neither urgent), ``urgent``; at least ``POOL`` of each
        kind the instrument can give. The same pools for every agency of the same settings."""
        threshold = settings.get("epds_positive_at")
        key = (code, interval, threshold)
        if key in self.pools:
            return self.pools[key]
        instrument = self.known.instruments[code]
        make = {
            "asq3": self.asq3_answers,
            "asqse2": self.asqse2_answers,
        }.get(code, self.summed_answers)
        pool: dict[str, list[dict[str, Any]]] = {"negative": [], "positive": [], "urgent": []}
        wanted = ("negative", "positive")
        if instrument.scoring.get("urgent_items"):
            wanted += ("urgent",)
        for _ in range(POOL * 400):
            given = make(instrument)
            scored = score(
                instrument,
                interval=interval,
                settings=settings,
                cutoffs=self.known.cutoffs,
                **given,
            )
            kind = "urgent" if scored.urgent else scored.result
            if len(pool[kind]) < POOL:
                pool[kind].append(
                    {
                        "responses": json.dumps(given.get("responses")),
                        "domain_scores": json.dumps(scored.domain_scores),
                        "total": scored.total,
                        "zones": json.dumps(scored.zones),
                        "result": scored.result,
                        "referral_recommended": scored.referral_recommended,
                        "urgent": scored.urgent,
                    }
                )
            if all(len(pool[kind]) >= POOL for kind in wanted):
                break
        else:
            raise RuntimeError(f"{code} {interval}: too few answers of some kind in the pool")
        self.pools[key] = pool
        return pool

    def asq3_answers(self, instrument: Any) -> dict[str, Any]:
        """Six answers a domain, mostly ``yes``, a child behind in a domain now and then,
        an item left unanswered now and then; one in seven given as domain scores."""
        random = self.rng.random
        domains = instrument.domains
        if random() < 1 / 7:
            return {"domain_scores": {d: 60 - 5 * int(random() ** 2 * 8) for d in domains}}
        answers = {}
        for domain in domains:
            behind = random() ** 3  # most children are not behind
            answers[domain] = [
                None
                if random() < 0.02
                else "not_yet"
                if (r := random()) < behind * 0.6
                else "sometimes"
                if r < 0.08 + behind
                else "yes"
                for _ in range(6)
            ]
        return {"responses": answers}

    def asqse2_answers(self, instrument: Any) -> dict[str, Any]:
        """A total in steps of 5, spread below and a little above the interval's cutoffs."""
        return {"domain_scores": {"total": 5 * int(self.rng.random() ** 2 * 40)}}

    def summed_answers(self, instrument: Any) -> dict[str, Any]:
        """Answers from the lowest up, higher the more troubled the caregiver."""
        random = self.rng.random
        items = instrument.items
        low, span = items["min"], items["max"] - items["min"]
        trouble = random() ** 2
        return {
            "responses": [
                low + sum(random() < trouble for _ in range(span)) for _ in range(items["count"])
            ]
        }

    # Rows ------------------------------------------------------------------------------

    def add(
        self,
        family: dict[str, Any],
        day: date,
        code: str,
        interval: int | None,
        fragment: dict[str, Any],
        child_id: uuid.UUID | None = None,
        caregiver_id: uuid.UUID | None = None,
    ) -> None:
        random = self.rng.random
        at = min(
            datetime.combine(day, OFFICE_OPENS) + timedelta(minutes=int(random() * 480)), self.now
        )
        row = {
            "id": uuid.UUID(int=self.rng.getrandbits(128) & UUID4_CLEAR | UUID4_SET),
            "family_id": family["id"],
            "child_id": child_id,
            "caregiver_id": caregiver_id,
            "instrument": code,
            "interval": interval,
            "administered_on": day,
            "administered_by": family["home_visitor_id"],
            **fragment,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "voided_at": None,
            "void_reason": None,
            "change_seq": SEEDED_CHANGE,
        }
        if random() < VOIDED_RECORDS:
            row["voided_at"] = at
            row["void_reason"] = "Entered in error."
        self.rows.screenings.append(row)
        if row["urgent"]:
            self.alert(family, row)

    def alert(self, family: dict[str, Any], screening: dict[str, Any]) -> None:
        """The supervisor's ``urgent_screening`` reminder, recorded with the screening."""
        at = screening["created_at"]
        sent = self.now - at > timedelta(days=1)
        self.rows.reminders.append(
            {
                "id": uuid.UUID(int=self.rng.getrandbits(128) & UUID4_CLEAR | UUID4_SET),
                "agency_id": family["agency_id"],
                "kind": "urgent_screening",
                "family_id": family["id"],
                "recipient_id": self.supervisor_of[family["home_visitor_id"]],
                "subject_id": screening["id"],
                "channel": "log",
                "due_at": at,
                "sent_at": at + timedelta(minutes=1) if sent else None,
                "status": "sent" if sent else "pending",
                "attempts": 1 if sent else 0,
                "error": None,
                "created_at": at,
            }
        )


class Observations:
    """About ``OBSERVATIONS`` observations of API.md's codes, from ``random.Random(45)``, each
    with a subject of the kind its code wants (hvcase/screenings/data/observation_codes.json)
    and a value of its type, dated within the family's enrollment, no later than yesterday,
    and for a child not before its birth; recorded by the family's home visitor.

    - The primary caregiver: at enrollment, education enrollment and tobacco use (a user
      referred to cessation services half the time, the same day); health insurance at
      enrollment (the caregiver's own code) and most years after (changing now and then);
      with a child in the family, a parent-child interaction tool a few months in and about
      every year and a half (for the family as a whole one time in five).
    - Each child: its birth (gestational age and weight as on the child) and the mother's
      postpartum visit when born during the enrollment; breastfeeding at about 1 and 6 months
      and safe sleep at about 1 month; about yearly, a well-child visit, an injury ED visit
      asked about now and then and, from 6 months, early language activity; a maltreatment
      report for a few.
    """

    def __init__(self, today: date, rows: Rows) -> None:
        self.rng = random.Random(SEED + 3)
        self.last = today - timedelta(days=1)
        self.rows = rows
        self.now = datetime.now(UTC)

    def build(self) -> None:
        caregivers, children = _by_family(self.rows.caregivers), _by_family(self.rows.children)
        for family in self.rows.families:
            end = min(family["discharged_on"] or self.last, self.last)
            members = caregivers[family["id"]]
            kids = children.get(family["id"], [])
            self.caregiver(family, next(c for c in members if c["primary"]), bool(kids), end)
            mother = next((c for c in members if c["relationship"] == "mother"), None)
            for child in kids:
                self.child(family, child, mother, end)
        self.rows.observations.sort(key=itemgetter("created_at"))  # as recorded

    def caregiver(
        self, family: dict[str, Any], primary: dict[str, Any], with_children: bool, end: date
    ) -> None:
        random, add, subject = self.rng.random, self.add, primary["id"]
        day = family["enrolled_on"] + timedelta(days=int(random() * 14))
        education = EDUCATION_ENROLLMENT[int(random() * len(EDUCATION_ENROLLMENT))]
        add(family, subject, "education_enrollment", education, day, end)
        smokes = random() < 0.18
        add(family, subject, "tobacco_use", smokes, day, end)
        if smokes and random() < 0.5:
            add(family, subject, "tobacco_cessation_referral", True, day, end)
        insurance = primary["insurance"]
        add(family, subject, "health_insurance", insurance, day, end)
        while (day := day + timedelta(days=335 + int(random() * 61))) <= end:
            if random() < 0.3:
                continue  # not asked that year
            if random() < 0.1:
                insurance = codes.INSURANCE[int(random() * len(codes.INSURANCE))]
            add(family, subject, "health_insurance", insurance, day)
        if not with_children:
            return
        day = family["enrolled_on"] + timedelta(days=60 + int(random() * 90))
        while day <= end:
            tool = INTERACTION_TOOLS[int(random() * len(INTERACTION_TOOLS))]
            add(family, None if random() < 0.2 else subject, "parent_child_interaction", tool, day)
            day += timedelta(days=520 + int(random() * 61))

    def child(
        self,
        family: dict[str, Any],
        child: dict[str, Any],
        mother: dict[str, Any] | None,
        end: date,
    ) -> None:
        random, add = self.rng.random, self.add
        born, child_id = child["birth_date"], child["id"]
        first = max(born, family["enrolled_on"])
        if born >= family["enrolled_on"]:
            if child["gestational_age_weeks"] is not None:
                value = {
                    "gestational_age_weeks": child["gestational_age_weeks"],
                    "gestational_age_days": child["gestational_age_days"],
                    "birth_weight_grams": child["birth_weight_grams"],
                }
                day = born + timedelta(days=3 + int(random() * 18))
                add(family, child_id, "birth", value, day, end)
            day = born + timedelta(days=21 + int(random() * 36))
            subject = mother["id"] if mother is not None and random() < 0.9 else None
            add(family, subject, "postpartum_visit", random() < 0.85, day, end)
        for months, code, yes in CHILD_MILESTONES:
            day = born + timedelta(days=30 * months + int(random() * 21) - 10)
            if day >= first:
                add(family, child_id, code, random() < yes, day, end)
        day = first + timedelta(days=int(random() * 120))
        while day <= end:
            add(family, child_id, "well_child_visit", random() < 0.85, day)
            if random() < 0.3:
                add(family, child_id, "ed_visit_injury", random() < 0.08, day)
            if (day - born).days >= 180:
                add(family, child_id, "early_language_activity", min(7, int(random() * 9)), day)
            day += timedelta(days=335 + int(random() * 61))
        if random() < 0.01:
            day = first + timedelta(days=int(random() * max((end - first).days, 1)))
            found = "screened_in" if random() < 0.4 else "screened_out"
            add(family, child_id, "maltreatment_report", found, day, end)

    def add(
        self,
        family: dict[str, Any],
        subject_id: uuid.UUID | None,
        code: str,
        value: Any,
        day: date,
        end: date | None = None,
    ) -> None:
        """One observation; none when ``day`` is after ``end`` (the caller's, or yesterday)."""
        if day > (end or self.last):
            return
        random = self.rng.random
        at = min(
            datetime.combine(day, OFFICE_OPENS) + timedelta(minutes=int(random() * 480)), self.now
        )
        row = {
            "id": uuid.UUID(int=self.rng.getrandbits(128) & UUID4_CLEAR | UUID4_SET),
            "family_id": family["id"],
            "subject_id": subject_id,
            "code": code,
            "value": json.dumps(value),
            "observed_on": day,
            "recorded_by": family["home_visitor_id"],
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "voided_at": None,
            "void_reason": None,
            "change_seq": SEEDED_CHANGE,
        }
        if random() < VOIDED_RECORDS:
            row["voided_at"] = at
            row["void_reason"] = "Entered in error."
        self.rows.observations.append(row)


def _by_family(rows: list[dict[str, Any]]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    grouped: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["family_id"], []).append(row)
    return grouped


def _table(weights: tuple[tuple[str, int], ...]) -> list[str]:
    """Each name as many times as its weight (the weights add up to 100): a look-up by
    ``int(random() * 100)`` picks one by weight."""
    return [name for name, weight in weights for _ in range(weight)]


def _cumulative_zipf(names: tuple[str, ...], offset: int = 4) -> list[float]:
    """Cumulative weights 1/(rank + offset): the first names are the most common."""
    return list(accumulate(1 / (rank + offset) for rank in range(1, len(names) + 1)))


def _split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` as equal as can be, larger parts first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


# Writing -----------------------------------------------------------------------------------


def build_schema(app: Flask) -> None:
    """A fresh public schema, built by the migrations as production's is."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()


def write(connection: Connection, rows: Rows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, table_rows in rows.tables():
        if table.name in COPIED:
            copy(connection, table, table_rows)
        else:
            for batch in _batches(table_rows, BATCH):
                connection.execute(insert(table), batch)
        counts[table.name] = counts.get(table.name, 0) + len(table_rows)
    return counts


def copy(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """PostgreSQL's COPY through psycopg, in the connection's transaction: the rows go as one
    stream, without an INSERT statement to build, send and parse for every thousand of them.
    Values go as psycopg adapts them; JSON columns must hold JSON text.

    The table's indexes (but its primary key) are dropped first and built again after, as
    the migrations define them on the model: building an index over random UUIDs at once is
    faster than keeping it up to date row by row."""
    if not rows:
        return
    indexes = sorted(table.indexes, key=lambda index: index.name)
    for index in indexes:
        index.drop(connection)
    columns = list(rows[0])
    row_values = itemgetter(*columns)
    # The columns' types, told to psycopg once rather than guessed for every value (JSON
    # columns as text: the values are JSON text already).
    types = dict(
        connection.execute(
            text(
                "SELECT attname, format_type(atttypid, NULL) FROM pg_attribute"
                " WHERE attrelid = CAST(:table AS regclass) AND attnum > 0"
            ),
            {"table": table.name},
        ).all()
    )
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(statement) as stream:
        stream.set_types(["text" if types[c] == "jsonb" else types[c] for c in columns])
        for row in rows:
            stream.write_row(row_values(row))
    for index in indexes:
        index.create(connection)


def seed(app: Flask) -> float:
    """Wipe the database, build the schema, insert the data set; print and return the time."""
    started = time.perf_counter()
    build_schema(app)
    migrated = time.perf_counter()
    with app.app_context():
        today = datetime.now(UTC).date()
        # Millions of objects, none of them in a reference cycle: the cyclic garbage collector
        # would walk them all again and again for nothing.
        gc.disable()
        try:
            rows = Generator(today, hash_password(PASSWORD)).build()
            Screenings(today, rows, catalog()).build()
            Observations(today, rows).build()
            built = time.perf_counter()
            with db.engine.begin() as connection:
                counts = write(connection, rows)
            del rows
            # Each window marked done with its first live screening, as the app marks them.
            mark_done(db.session)
            db.session.commit()
        finally:
            gc.enable()
        written = time.perf_counter()
        # As autovacuum would soon after a bulk load, but before the timing starts rather than
        # during it: statistics for the planner, and a visibility map and hint bits set.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    finished = time.perf_counter()
    print("Seeded: " + ", ".join(f"{count:,} {name}" for name, count in counts.items()))
    print(
        f"Seed time: {finished - started:.1f} s (schema by migrations {migrated - started:.1f} s,"
        f" rows built {built - migrated:.1f} s, inserted {written - built:.1f} s,"
        f" VACUUM ANALYZE {finished - written:.1f} s); target under 120 s:"
        f" {'PASS' if finished - started < 120 else 'FAIL'}"
    )
    return finished - started


def seeded(app: Flask) -> bool:
    """True when the database holds a full data set, in the schema of the latest migration
    (a data set seeded before a new migration would not fit the models)."""
    with app.app_context(), db.engine.connect() as connection:
        if not connection.scalar(text("SELECT to_regclass('public.alembic_version') IS NOT NULL")):
            return False
        current = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        if current != set(script.get_heads()):
            return False
        families = connection.scalar(select(func.count()).select_from(Family.__table__))
        visits = connection.scalar(select(func.count()).select_from(Visit.__table__))
        screenings = connection.scalar(select(func.count()).select_from(Screening.__table__))
        return (
            (families or 0) >= FAMILIES
            and (visits or 0) >= 0.95 * VISITS
            and (screenings or 0) >= 0.9 * SCREENINGS
        )


def main() -> None:
    url = bench_database_url()
    ensure_database(url)
    seed(make_app(url))


if __name__ == "__main__":
    main()
