"""Audit events. Append-only: the migration adds triggers that refuse UPDATE and DELETE."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hvcase.common.models import IdMixin
from hvcase.common.time import utcnow
from hvcase.common.types import JSONType, UTCDateTime
from hvcase.extensions import db

ACTIONS = (
    "create",
    "read",
    "update",
    "void",
    "assign",
    "discharge",
    "enroll",
    "search",
    "export",
    "login",
    "login_failed",
    "logout",
    "token_created",
    "token_revoked",
    "password_changed",
    "denied",
)


class AuditEvent(IdMixin, db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id"),
        Index("ix_audit_events_at", "at"),
    )

    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    # The acting user's agency, and the agency owning the object: an agency admin sees events
    # of their agency's users and every event on their agency's records.
    actor_agency_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    object_agency_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(40), nullable=True)
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)
