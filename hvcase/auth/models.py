"""Users, their server-side sessions and their tablet tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hvcase.common.models import IdMixin, VersionedMixin
from hvcase.common.time import utcnow
from hvcase.common.types import UTCDateTime
from hvcase.extensions import db

ROLES = ("home_visitor", "supervisor", "agency_admin", "fiscal_host", "admin")


class User(IdMixin, VersionedMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN ('home_visitor', 'supervisor', 'agency_admin', 'fiscal_host', 'admin')",
            name="role",
        ),
        CheckConstraint("(role = 'admin') = (agency_id IS NULL)", name="agency_by_role"),
    )

    # Stored lower-cased, so uniqueness is without regard to case.
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id"), nullable=True, index=True
    )
    supervisor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id"), nullable=True, index=True
    )
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    agency = relationship("Agency", lazy="joined", innerjoin=False)

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginSession(IdMixin, db.Model):
    """A cookie session, kept on the server so that logout, a password change or deactivation
    ends it: a signed cookie replayed afterwards finds its row revoked and gets 401."""

    __tablename__ = "login_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)


class ApiToken(IdMixin, db.Model):
    """A tablet's bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    device_name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user = relationship("User", lazy="joined")
