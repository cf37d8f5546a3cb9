"""Demo data for ``flask seed-demo``: a coalition, its agencies, and a user of every role."""

from __future__ import annotations

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
    return LOGINS
