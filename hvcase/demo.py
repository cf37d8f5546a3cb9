"""Demo data for ``flask seed-demo``: a coalition, its agencies, a user of every role, and
each home visitor's caseload of families in every state."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.extensions import db
from hvcase.organisations.models import Agency

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


def _families_of(visitor: User, seed: int) -> None:
    """A caseload in every state: pregnant, an infant, a toddler, and a discharged family."""
    from hvcase.families import services

    today = date.today()  # noqa: DTZ011 (demo dates only need to be roughly now)
    last = ["Garcia", "Nguyen", "Johnson", "Yang", "Hassan", "Lopez", "Smith", "Vang"]
    first = ["Maria", "Linh", "Ashley", "Mai", "Amina", "Rosa", "Jessica", "Pa"]
    kid = ["Sofia", "Minh", "Jayden", "Kevin", "Yusuf", "Mateo", "Emma", "Nou"]

    def household(n: int, enrolled_days_ago: int, child_age_days: int | None) -> dict:
        i = (seed + n) % len(last)
        body = {
            "enrolled_on": today - timedelta(days=enrolled_days_ago),
            "phone": f"+1612555{seed % 10}{n:03d}",
            "preferred_language": ["en", "es", "hmn", "so"][n % 4],
            "consent": {"sms_reminders": True, "email_reminders": False},
            "risk_factors": ["low_income"],
            "household_size": 3,
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
            "children": [],
            "pregnancy": None,
            "confirm_not_duplicate": True,
        }
        if child_age_days is None:
            body["pregnancy"] = {"expected_delivery_date": today + timedelta(days=60)}
        else:
            body["children"].append(
                {
                    "first_name": kid[i],
                    "last_name": last[i],
                    "birth_date": today - timedelta(days=child_age_days),
                    "sex": "F" if n % 2 else "M",
                    "gestational_age_weeks": 35 if n == 1 else 39,
                    "birth_weight_grams": 2600 if n == 1 else 3300,
                }
            )
        return body

    services.enroll(visitor, household(0, 20, None))  # pregnant, newly enrolled
    services.enroll(visitor, household(1, 150, 120))  # an infant born early
    services.enroll(visitor, household(2, 500, 600))  # a toddler
    gone = services.enroll(visitor, household(3, 400, 500))
    services.discharge(
        visitor, gone, {"discharged_on": today - timedelta(days=30), "reason": "moved"}
    )
