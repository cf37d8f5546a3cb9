"""Every model, imported once so the metadata (and Alembic) knows the whole schema."""

from hvcase.audit.models import AuditEvent
from hvcase.auth.models import ApiToken, LoginSession, User
from hvcase.organisations.models import Agency

__all__ = ["Agency", "ApiToken", "AuditEvent", "LoginSession", "User"]
