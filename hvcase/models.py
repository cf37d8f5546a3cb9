"""Every model, imported once so the metadata (and Alembic) knows the whole schema."""

from hvcase.audit.models import AuditEvent
from hvcase.auth.models import ApiToken, LoginSession, User
from hvcase.common.idempotency import IdempotencyRecord
from hvcase.common.reminders import Reminder
from hvcase.families.models import Assignment, Caregiver, Child, Enrollment, Family
from hvcase.organisations.models import Agency
from hvcase.screenings.models import Observation, Screening
from hvcase.sync.clock import SyncClock
from hvcase.sync.models import AppliedChange, SyncState
from hvcase.visits.models import Visit

__all__ = [
    "Agency",
    "ApiToken",
    "AppliedChange",
    "Assignment",
    "AuditEvent",
    "Caregiver",
    "Child",
    "Enrollment",
    "Family",
    "IdempotencyRecord",
    "LoginSession",
    "Observation",
    "Reminder",
    "Screening",
    "SyncClock",
    "SyncState",
    "User",
    "Visit",
]
