"""Visits."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hvcase.common.models import (
    IdMixin,
    SyncedMixin,
    VersionedMixin,
    VoidableMixin,
    unstamped_index,
)
from hvcase.common.types import JSONType, UTCDateTime
from hvcase.extensions import db


class Visit(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_family_occurs", "family_id", "occurs_at"),
        Index("ix_visits_home_visitor_occurs", "home_visitor_id", "occurs_at"),
        unstamped_index("visits"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), nullable=False)
    home_visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The visit's time: started_at, else scheduled_for (lists filter and order by it).
    occurs_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    location: Mapped[str] = mapped_column(String(12), nullable=False, default="home")
    participants: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    topics: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    missed_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)

    family = relationship("Family", lazy="joined")
