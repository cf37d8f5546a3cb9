"""Demo data for ``flask seed-demo``: a coalition, its agencies, a user of every role, and
each home visitor's caseload of families in every state, with their screenings and
observations.

Everything a family holds is recorded through the app's own services, by its home visitor, so
the demo is real data: scored by the server, each questionnaire accepted only inside its
interval's window, the families' attention computed, an urgent result alerting the supervisor.
Dates count back from the agency's today, so the data holds whenever it is loaded. Each home
visitor's caseload holds:

- a pregnant caregiver, newly enrolled: PHQ-9 and HITS screens, both negative;
- an infant born at 32 weeks, 200 days ago (corrected age applies): ASQ-3 at 2 months (every
  domain ``above``) and 4 months (gross motor in ``monitoring``) on corrected age, ASQ:SE-2 at
  2; the mother's EPDS positive after the birth, negative since; up to date on its screenings;
- a toddler screened at every interval since enrollment but the ASQ:SE-2 at 18 months, left
  overdue (the family's ``screening_overdue``); communication in ``monitoring`` at 12 months
  and ``below`` at 18; the mother's PHQ-9 negative, then positive and urgent 3 days ago (item 9
  above 0: an ``urgent_screening`` reminder for the supervisor);
- a discharged family, screened until its discharge;
- a preschooler up to date (a positive ASQ:SE-2 at 24 months) and a newborn sibling;
- and observations: births, well-child and postpartum visits, breastfeeding, safe sleep, early
  language activities, health insurance.

ASQ zones are those of the shipped example cutoffs; an agency's licensed file may differ.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.extensions import db
from hvcase.families import services as families
from hvcase.families.models import Caregiver, Child, Family
from hvcase.organisations.models import Agency
from hvcase.screenings import observations
from hvcase.screenings import services as screenings
from hvcase.screenings.catalog import catalog

PASSWORD = "demo-password-123"  # published demo credentials, for demo data only

AGENCIES = [
    # name, kind, model, timezone, expected visits a month
    ("Riverbend Family Coalition", "lead", "other", "America/Chicago", 0),
    ("Northside Parents as Teachers", "member", "PAT", "America/Chicago", 2),
    ("Lakeshore Healthy Families", "member", "HFA", "America/Chicago", 4),
    ("Prairie Nurse-Family Partnership", "member", "NFP", "America/Denver", 2),
]

# email, name, role, agency index (None: no agency), supervisor email
USERS = [
    ("admin@example.org", "Ada Admin", "admin", None, None),
    ("fiscal@example.org", "Fiona Fiscal", "fiscal_host", 0, None),
    ("lead.admin@example.org", "Leo Lead", "agency_admin", 0, None),
]
for _index, _slug in ((1, "northside"), (2, "lakeshore"), (3, "prairie")):
    USERS += [
        (f"admin@{_slug}.example.org", f"{_slug.title()} Admin", "agency_admin", _index, None),
        (
            f"supervisor@{_slug}.example.org",
            f"{_slug.title()} Supervisor",
            "supervisor",
            _index,
            None,
        ),
        (
            f"visitor1@{_slug}.example.org",
            f"{_slug.title()} Visitor One",
            "home_visitor",
            _index,
            f"supervisor@{_slug}.example.org",
        ),
        (
            f"visitor2@{_slug}.example.org",
            f"{_slug.title()} Visitor Two",
            "home_visitor",
            _index,
            f"supervisor@{_slug}.example.org",
        ),
    ]

LOGINS = [
    (email, role, AGENCIES[index][0] if index is not None else "(all agencies)")
    for email, _name, role, index, _sup in USERS
]


def seed() -> list[tuple[str, str, str]]:
    """Add the demo data unless it is there; return the logins created (empty if none)."""
    if db.session.scalar(select(User.id).where(User.email == USERS[0][0])) is not None:
        return []
    agencies: list[Agency] = []
    for name, kind, model, timezone, visits in AGENCIES:
        agency = Agency(
            name=name,
            kind=kind,
            model=model,
            timezone=timezone,
            expected_visits_per_month=visits,
            lead_agency_id=agencies[0].id if agencies else None,
            settings={},
        )
        db.session.add(agency)
        db.session.flush()
        agencies.append(agency)
    password_hash = hash_password(PASSWORD)
    by_email: dict[str, User] = {}
    for email, name, role, index, supervisor in USERS:
        user = User(
            email=email,
            name=name,
            role=role,
            agency_id=agencies[index].id if index is not None else None,
            supervisor_id=by_email[supervisor].id if supervisor else None,
            password_hash=password_hash,
        )
        db.session.add(user)
        db.session.flush()
        by_email[email] = user
    for email, user in by_email.items():
        if user.role == "home_visitor":
            _families_of(user, seed=len(email))
    return LOGINS


# A child on the demo's birth record: (age in days, gestational weeks and days, grams).
ChildAtBirth = tuple[int, int, int, int]

FULL_TERM = (39, 0, 3300)
BORN_AT_32_WEEKS = (32, 0, 1800)  # 8 weeks early: corrected age applies (3 or more)


def _families_of(visitor: User, seed: int) -> None:
    """A caseload in every state, each family with its screenings and observations (the
    module's docstring says what each shows). Every date counts back from the agency's today,
    so the data holds whenever it is loaded."""
    today = families.agency_today(visitor)
    last = ["Garcia", "Nguyen", "Johnson", "Yang", "Hassan", "Lopez", "Smith", "Vang"]
    first = ["Maria", "Linh", "Ashley", "Mai", "Amina", "Rosa", "Jessica", "Pa"]
    kid = ["Sofia", "Minh", "Jayden", "Kevin", "Yusuf", "Mateo", "Emma", "Nou"]
    younger = ["Lucia", "An", "Tyler", "Lily", "Omar", "Diego", "Olivia", "Kou"]

    def household(n: int, enrolled_days_ago: int, children: list[ChildAtBirth]) -> dict:
        i = (seed + n) % len(last)
        body = {
            "enrolled_on": today - timedelta(days=enrolled_days_ago),
            "phone": f"+1612555{seed % 10}{n:03d}",
            "preferred_language": ["en", "es", "hmn", "so"][n % 4],
            "consent": {"sms_reminders": True, "email_reminders": False},
            "risk_factors": ["low_income"],
            "household_size": 2 + max(1, len(children)),
            "caregivers": [
                {
                    "first_name": first[i],
                    "last_name": last[i],
                    "birth_date": today - timedelta(days=365 * 24 + n * 40),
                    "relationship": "mother",
                    "primary": True,
                    "education": "high_school_or_ged",
                    "insurance": "medicaid_chip",
                }
            ],
            "children": [
                {
                    "first_name": (kid, younger)[index % 2][i],
                    "last_name": last[i],
                    "birth_date": today - timedelta(days=age_days),
                    "sex": "F" if (n + index) % 2 else "M",
                    "gestational_age_weeks": weeks,
                    "gestational_age_days": days,
                    "birth_weight_grams": grams,
                }
                for index, (age_days, weeks, days, grams) in enumerate(children)
            ],
            "pregnancy": None,
            "confirm_not_duplicate": True,
        }
        if not children:
            body["pregnancy"] = {"expected_delivery_date": today + timedelta(days=60)}
        return body

    # household(n, enrolled days ago, children as (age in days, weeks, days, grams))
    expecting = families.enroll(visitor, household(0, 20, []))
    early = families.enroll(visitor, household(1, 190, [(200, *BORN_AT_32_WEEKS)]))
    toddler = families.enroll(visitor, household(2, 560, [(600, *FULL_TERM)]))
    gone = families.enroll(visitor, household(3, 400, [(500, *FULL_TERM)]))
    siblings = families.enroll(visitor, household(4, 980, [(990, *FULL_TERM), (21, 39, 2, 3400)]))

    record = _Recorder(visitor, today)
    record.expecting(expecting)
    record.born_early(early)
    record.toddler(toddler)
    record.discharged(gone)
    families.discharge(
        visitor, gone, {"discharged_on": today - timedelta(days=30), "reason": "moved"}
    )
    record.siblings(siblings)


# ASQ-3 answers are scored 10 for "yes", 5 for "sometimes", 0 for "not yet", six to a domain.
# The zones below are those of the shipped example cutoffs (hvcase/screenings/data/
# asq_cutoffs.example.csv): an agency's licensed file may place the same scores elsewhere.
TYPICAL_ASQ3 = 55  # above the top of every example monitoring zone (52.5 at most)
TYPICAL_ASQSE2 = 10  # under every example ASQ:SE-2 cutoff (30 at 2 months is the lowest)

# (instrument, interval) -> the child's scores that differ from the typical ones: ASQ-3
# domain scores (domains not named score TYPICAL_ASQ3), or the ASQ:SE-2 total.
Results = dict[tuple[str, int], dict[str, int] | int]


def _asq3_answers(domain_score: int) -> list[str]:
    """Six answers that score ``domain_score`` (0–60 in steps of 5): 55 is five "yes" and
    one "sometimes"."""
    yes, rest = divmod(domain_score, 10)
    sometimes = rest // 5
    return ["yes"] * yes + ["sometimes"] * sometimes + ["not_yet"] * (6 - yes - sometimes)


class _Recorder:
    """Records what a home visitor gives and sees in each demo family, through the
    screenings and observations services (scored, checked and alerted as on a tablet)."""

    def __init__(self, visitor: User, today: date) -> None:
        self.visitor = visitor
        self.today = today

    def ago(self, days: int) -> date:
        return self.today - timedelta(days=days)

    # The families -------------------------------------------------------------------------

    def expecting(self, family: Family) -> None:
        """Pregnant, newly enrolled: depression and partner-violence screens, both negative."""
        mother = family.primary_caregiver
        self.caregiver_screen(mother, "phq9", [1, 0, 1, 1, 0, 0, 0, 0, 0], self.ago(14))  # 3
        self.caregiver_screen(mother, "ipv", [1, 2, 1, 1], self.ago(14))  # 5: under 11
        self.observe(family, mother, "health_insurance", "medicaid_chip", family.enrolled_on)

    def born_early(self, family: Family) -> None:
        """Born at 32 weeks, 200 days ago: screened on corrected age (8 weeks less), so the
        6-month questionnaires are not yet overdue. Gross motor in monitoring at 4 months.
        The mother's EPDS positive (13, item 10 at 0: not urgent) soon after the birth, then
        negative."""
        (child,) = family.children
        mother = family.primary_caregiver
        self.on_schedule(child, family.enrolled_on, {("asq3", 4): {"gross_motor": 40}})
        self.caregiver_screen(mother, "epds", [2, 2, 1, 2, 1, 2, 1, 1, 1, 0], self.ago(150))
        self.caregiver_screen(mother, "epds", [1, 0, 1, 1, 0, 1, 0, 1, 0, 0], self.ago(30))
        weeks, days, grams = BORN_AT_32_WEEKS
        birth = {"gestational_age_weeks": weeks, "gestational_age_days": days}
        self.observe(
            family, child, "birth", {**birth, "birth_weight_grams": grams}, child.birth_date
        )
        self.observe(family, mother, "postpartum_visit", True, self.ago(160))
        self.observe(family, child, "well_child_visit", True, self.ago(45))
        self.observe(family, child, "breastfeeding", True, self.ago(30))
        self.observe(family, child, "safe_sleep", True, self.ago(30))
        self.observe(family, child, "early_language_activity", 4, self.ago(30))
        self.observe(family, mother, "health_insurance", "medicaid_chip", family.enrolled_on)

    def toddler(self, family: Family) -> None:
        """Screened at every interval since enrollment but the ASQ:SE-2 at 18 months, left
        overdue (the family's ``screening_overdue``). Communication in monitoring at 12
        months and below at 18 (a positive ASQ-3, problem solving in monitoring too). The
        mother's PHQ-9 negative, then positive and urgent 3 days ago (item 9 at 1): the
        supervisor's ``urgent_screening`` reminder, and the family's ``urgent_screening``."""
        (child,) = family.children
        mother = family.primary_caregiver
        results: Results = {
            ("asq3", 12): {"communication": 30},
            ("asq3", 18): {"communication": 20, "problem_solving": 30},
        }
        self.on_schedule(child, family.enrolled_on, results, leave_undone={("asqse2", 18)})
        self.caregiver_screen(mother, "phq9", [0, 1, 0, 1, 0, 0, 0, 1, 0], self.ago(180))  # 3
        self.caregiver_screen(mother, "ipv", [1, 1, 1, 1], self.ago(180))  # 4
        self.caregiver_screen(mother, "phq9", [2, 2, 1, 2, 1, 2, 1, 1, 1], self.ago(3))  # 13
        self.observe(family, child, "safe_sleep", True, self.ago(500))
        self.observe(family, child, "well_child_visit", True, self.ago(50))
        self.observe(family, child, "early_language_activity", 3, self.ago(20))
        self.observe(family, mother, "health_insurance", "medicaid_chip", family.enrolled_on)

    def discharged(self, family: Family) -> None:
        """Screened while enrolled (until the discharge, 30 days ago)."""
        (child,) = family.children
        mother = family.primary_caregiver
        self.on_schedule(child, family.enrolled_on, {}, until=self.ago(30))
        self.caregiver_screen(mother, "epds", [0, 1, 0, 1, 0, 0, 1, 0, 0, 0], self.ago(380))
        self.observe(family, child, "well_child_visit", True, self.ago(140))
        self.observe(family, mother, "health_insurance", "private", self.ago(60))

    def siblings(self, family: Family) -> None:
        """A preschooler screened at every interval (the ASQ:SE-2 at 24 months positive) and
        a newborn sibling, none of whose windows has opened."""
        older, newborn = sorted(family.children, key=lambda child: child.birth_date)
        mother = family.primary_caregiver
        self.on_schedule(older, family.enrolled_on, {("asqse2", 24): 70})  # 70 > 65
        self.caregiver_screen(mother, "epds", [0, 1, 0, 1, 0, 1, 0, 0, 0, 0], self.ago(7))  # 3
        birth = {"gestational_age_weeks": 39, "gestational_age_days": 2, "birth_weight_grams": 3400}
        self.observe(family, newborn, "birth", birth, newborn.birth_date)
        self.observe(family, newborn, "well_child_visit", True, self.ago(14))
        self.observe(family, newborn, "breastfeeding", True, self.ago(7))
        self.observe(family, newborn, "safe_sleep", False, self.ago(7))  # bed-sharing
        self.observe(family, older, "early_language_activity", 7, self.ago(7))
        self.observe(family, mother, "health_insurance", "medicaid_chip", family.enrolled_on)

    # Recording ----------------------------------------------------------------------------

    def on_schedule(
        self,
        child: Child,
        since: date,
        results: Results,
        *,
        until: date | None = None,
        leave_undone: Collection[tuple[str, int]] = (),
    ) -> None:
        """Every required ASQ-3 and ASQ:SE-2 interval whose day came between ``since`` and
        ``until`` (today by default), given on that day: the day the child is the interval's
        age on the screening clock (corrected where it applies), inside its window by
        construction (the child's schedule, hvcase/screenings/schedule.py)."""
        until = until or self.today
        for item in screenings.child_schedule(self.visitor, child)["items"]:
            key = (item["instrument"], item["interval"])
            on = item["due_on"]
            if on is None or not since <= on <= until or key in leave_undone:
                continue
            body = {
                "instrument": item["instrument"],
                "child_id": child.id,
                "interval": item["interval"],
                "administered_on": on,
            }
            given = results.get(key)
            if item["instrument"] == "asq3":
                scores = given if isinstance(given, dict) else {}
                body["responses"] = {
                    domain: _asq3_answers(scores.get(domain, TYPICAL_ASQ3))
                    for domain in catalog().instruments["asq3"].domains or ()
                }
            else:
                total = given if isinstance(given, int) else TYPICAL_ASQSE2
                body["domain_scores"] = {"total": total}
            screenings.create_screening(self.visitor, body)

    def caregiver_screen(
        self, caregiver: Caregiver, instrument: str, responses: list[int], on: date
    ) -> None:
        screenings.create_screening(
            self.visitor,
            {
                "instrument": instrument,
                "caregiver_id": caregiver.id,
                "administered_on": on,
                "responses": responses,
            },
        )

    def observe(
        self, family: Family, subject: Caregiver | Child, code: str, value: object, on: date
    ) -> None:
        observations.create_observation(
            self.visitor,
            {
                "family_id": family.id,
                "subject_id": subject.id,
                "code": code,
                "value": value,
                "observed_on": on,
            },
        )
