"""factory_boy factories, and the coalition most tests start from."""

from __future__ import annotations

from types import SimpleNamespace

import factory
from factory.alchemy import SQLAlchemyModelFactory

from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.extensions import db
from hvcase.organisations.models import Agency

PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class AgencyFactory(BaseFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    kind = "member"
    lead_agency_id = None
    model = "PAT"
    timezone = "America/Chicago"
    expected_visits_per_month = 2
    settings = factory.LazyFunction(dict)


class LeadAgencyFactory(AgencyFactory):
    kind = "lead"
    model = "other"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Faker("name")
    role = "home_visitor"
    agency_id = factory.LazyAttribute(lambda o: o.agency.id if o.agency else None)
    supervisor_id = None
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD))
    active = True

    class Params:
        agency = None


def make_agency_staff(agency: Agency, prefix: str) -> SimpleNamespace:
    supervisor = UserFactory(role="supervisor", agency=agency, email=f"{prefix}.sup@example.org")
    return SimpleNamespace(
        agency=agency,
        admin=UserFactory(role="agency_admin", agency=agency, email=f"{prefix}.admin@example.org"),
        supervisor=supervisor,
        visitor=UserFactory(
            role="home_visitor",
            agency=agency,
            supervisor_id=supervisor.id,
            email=f"{prefix}.hv@example.org",
        ),
        other_visitor=UserFactory(
            role="home_visitor",
            agency=agency,
            supervisor_id=supervisor.id,
            email=f"{prefix}.hv2@example.org",
        ),
    )


def make_coalition() -> SimpleNamespace:
    """A lead agency with a fiscal host and an admin; member agencies ``a`` and ``b`` with a
    full staff each; a second, unrelated coalition ``other``; and a system admin."""
    lead = LeadAgencyFactory(name="Lead")
    a = AgencyFactory(name="Member A", lead_agency_id=lead.id)
    b = AgencyFactory(name="Member B", lead_agency_id=lead.id, model="HFA")
    other_lead = LeadAgencyFactory(name="Other Lead")
    other = AgencyFactory(name="Other Member", lead_agency_id=other_lead.id)
    return SimpleNamespace(
        lead=lead,
        fiscal_host=UserFactory(role="fiscal_host", agency=lead, email="fiscal@example.org"),
        lead_admin=UserFactory(role="agency_admin", agency=lead, email="lead.admin@example.org"),
        admin=UserFactory(role="admin", agency=None, email="root@example.org"),
        a=make_agency_staff(a, "a"),
        b=make_agency_staff(b, "b"),
        other_lead=other_lead,
        other=make_agency_staff(other, "other"),
    )
