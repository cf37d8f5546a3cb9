"""factory_boy factories, and the coalition most tests start from."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import factory
from factory.alchemy import SQLAlchemyModelFactory

from hvcase.auth.models import User
from hvcase.auth.passwords import hash_password
from hvcase.common.text import name_key
from hvcase.common.time import today_in, utcnow
from hvcase.extensions import db
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.organisations.models import Agency
from hvcase.screenings.models import Observation, Screening
from hvcase.visits.models import Visit

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


# --- Families ------------------------------------------------------------------------------


def agency_today(agency_or_user) -> date:
    """Today in the agency's time zone (the server's "today" for its families)."""
    agency = getattr(agency_or_user, "agency", None) or agency_or_user
    return today_in(agency.timezone)


class CaregiverFactory(BaseFactory):
    class Meta:
        model = Caregiver

    family_id = factory.LazyAttribute(lambda o: o.family.id)
    first_name = factory.Sequence(lambda n: f"Carla{n}")
    last_name = factory.Sequence(lambda n: f"Rivera{n}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.first_name, o.last_name))
    birth_date = date(1995, 3, 14)
    relationship_to_child = "mother"
    primary = False

    class Params:
        family = None


class ChildFactory(BaseFactory):
    class Meta:
        model = Child

    family_id = factory.LazyAttribute(lambda o: o.family.id)
    first_name = factory.Sequence(lambda n: f"Mateo{n}")
    last_name = factory.LazyAttribute(
        lambda o: o.family.primary_caregiver.last_name if o.family.primary_caregiver else "Rivera"
    )
    name_key = factory.LazyAttribute(lambda o: name_key(o.first_name, o.last_name))
    birth_date = date(2024, 6, 1)
    sex = "M"
    enrolled = True

    class Params:
        family = None


class FamilyFactory(BaseFactory):
    """An enrolled family, built directly with the models: its enrollment episode, its
    assignment (when it has a home visitor) and a primary caregiver.

    ``FamilyFactory(home_visitor=coalition.a.visitor)`` (the agency follows the visitor) or
    ``FamilyFactory(agency=coalition.a.agency)`` (unassigned); ``caregiver__last_name="Núñez"``
    names the primary caregiver; ``children=2`` adds two children (or a list of dicts of their
    fields).
    """

    class Meta:
        model = Family

    agency_id = factory.LazyAttribute(
        lambda o: o.agency.id if o.agency is not None else o.home_visitor.agency_id
    )
    home_visitor_id = factory.LazyAttribute(lambda o: o.home_visitor.id if o.home_visitor else None)
    status = "enrolled"
    enrolled_on = factory.LazyAttribute(
        lambda o: agency_today(o.agency or o.home_visitor) - timedelta(days=7)
    )
    phone = "+16125550100"
    consent = factory.LazyFunction(lambda: {"sms_reminders": True, "email_reminders": False})
    risk_factors = factory.LazyFunction(list)

    class Params:
        agency = None
        home_visitor = None

    episode = factory.RelatedFactory(
        "tests.factories.EnrollmentFactory",
        factory_related_name="family",
    )
    caregiver = factory.RelatedFactory(
        CaregiverFactory, factory_related_name="family", primary=True
    )

    @factory.post_generation
    def assignment(obj, create, extracted, **kwargs):
        if create and obj.home_visitor_id is not None:
            db.session.add(
                Assignment(
                    family_id=obj.id,
                    home_visitor_id=obj.home_visitor_id,
                    assigned_by=obj.home_visitor_id,
                    note="enrollment",
                )
            )
            db.session.commit()

    @factory.post_generation
    def children(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        items = [{}] * extracted if isinstance(extracted, int) else extracted
        for fields in items:
            ChildFactory(family=obj, **{**kwargs, **fields})


class EnrollmentFactory(BaseFactory):
    class Meta:
        model = Enrollment

    family_id = factory.LazyAttribute(lambda o: o.family.id)
    enrolled_on = factory.LazyAttribute(lambda o: o.family.enrolled_on)
    discharged_on = factory.LazyAttribute(lambda o: o.family.discharged_on)
    discharge_reason = factory.LazyAttribute(lambda o: o.family.discharge_reason)

    class Params:
        family = None


# --- Visits --------------------------------------------------------------------------------


class VisitFactory(BaseFactory):
    """A visit of ``family`` by its home visitor: by default completed two days ago, an hour
    long, at home. ``VisitFactory(family=f, status="scheduled", scheduled_for=…,
    started_at=None)`` schedules one instead."""

    class Meta:
        model = Visit

    family_id = factory.LazyAttribute(lambda o: o.family.id)
    home_visitor_id = factory.LazyAttribute(lambda o: o.family.home_visitor_id)
    status = "completed"
    scheduled_for = None
    started_at = factory.LazyFunction(lambda: utcnow().replace(microsecond=0) - timedelta(days=2))
    duration_minutes = factory.LazyAttribute(lambda o: 60 if o.started_at else None)
    ended_at = factory.LazyAttribute(
        lambda o: o.started_at + timedelta(minutes=o.duration_minutes) if o.started_at else None
    )
    occurs_at = factory.LazyAttribute(lambda o: o.started_at or o.scheduled_for)
    location = "home"
    participants = factory.LazyFunction(list)
    topics = factory.LazyFunction(list)

    class Params:
        family = None


class ScreeningFactory(BaseFactory):
    """A PHQ-9 of ``caregiver`` given two days ago, every answer 0, scored as the server
    scores it (total 0, negative). Give ``responses`` and the scores together for another."""

    class Meta:
        model = Screening

    family_id = factory.LazyAttribute(lambda o: o.caregiver.family_id)
    caregiver_id = factory.LazyAttribute(lambda o: o.caregiver.id)
    child_id = None
    instrument = "phq9"
    interval = None
    administered_on = factory.LazyFunction(lambda: utcnow().date() - timedelta(days=2))
    administered_by = factory.LazyAttribute(lambda o: o.caregiver.family.home_visitor_id)
    responses = factory.LazyFunction(lambda: [0] * 9)
    domain_scores = None
    total = 0
    zones = None
    result = "negative"
    referral_recommended = False
    urgent = False

    class Params:
        caregiver = None


class ObservationFactory(BaseFactory):
    """Days a week someone read or sang with ``child`` (``early_language_activity``: 3),
    observed two days ago."""

    class Meta:
        model = Observation

    family_id = factory.LazyAttribute(lambda o: o.child.family_id)
    subject_id = factory.LazyAttribute(lambda o: o.child.id)
    code = "early_language_activity"
    value = 3
    observed_on = factory.LazyFunction(lambda: utcnow().date() - timedelta(days=2))
    recorded_by = factory.LazyAttribute(lambda o: o.child.family.home_visitor_id)

    class Params:
        child = None


# Which families each role sees: the relations a family of agency a can have to its staff.
VISIBLE_BY_ROLE = {
    "home_visitor": {"visitors"},
    "supervisor": {"visitors", "colleagues", "supervisors"},
    "agency_admin": {"visitors", "colleagues", "supervisors", "unsupervised", "unassigned"},
}


def families_by_relation(coalition: SimpleNamespace, *, unassigned: bool = True) -> SimpleNamespace:
    """One family of agency a for each relation to its staff (the home visitor's own, a
    colleague's, the supervisor's, an unsupervised visitor's, unassigned), and one of agency b;
    each with a child. ``VISIBLE_BY_ROLE`` says which of them a role of agency a sees."""
    a = coalition.a
    other_supervisor = UserFactory(role="supervisor", agency=a.agency)
    unsupervised = UserFactory(
        role="home_visitor", agency=a.agency, supervisor_id=other_supervisor.id
    )
    families = {
        "visitors": FamilyFactory(home_visitor=a.visitor, children=1),
        "colleagues": FamilyFactory(home_visitor=a.other_visitor, children=1),
        "supervisors": FamilyFactory(home_visitor=a.supervisor, children=1),
        "unsupervised": FamilyFactory(home_visitor=unsupervised, children=1),
    }
    if unassigned:
        families["unassigned"] = FamilyFactory(agency=a.agency, children=1)
    families["agency_b"] = FamilyFactory(home_visitor=coalition.b.visitor, children=1)
    return SimpleNamespace(**families)


def visible_by_role(families: SimpleNamespace) -> dict[str, set[str]]:
    """``VISIBLE_BY_ROLE`` limited to the families that were made."""
    return {role: names & set(vars(families)) for role, names in VISIBLE_BY_ROLE.items()}


NO_FAMILY_DATA = ("fiscal_host", "admin")  # roles that get 403 from every family-data endpoint


def family_world(coalition: SimpleNamespace, *, unassigned: bool = True) -> SimpleNamespace:
    """``families_by_relation`` with what the scope tests read beside it: the two agencies,
    which families each role of agency a sees, and its users by role."""
    a = coalition.a
    families = families_by_relation(coalition, unassigned=unassigned)
    return SimpleNamespace(
        coalition=coalition,
        a=a,
        b=coalition.b,
        families=families,
        visible=visible_by_role(families),
        users={"home_visitor": a.visitor, "supervisor": a.supervisor, "agency_admin": a.admin},
    )
