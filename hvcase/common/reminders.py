"""Reminders: messages and staff alerts a write decides on, recorded in the writing
transaction (so none is lost or sent for a write that rolled back) and delivered later by the
reminders domain's worker (API.md, "Reminders"). A domain below reminders (a screening that
must alert a supervisor at once) records one here, on the floor."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from hvcase.common.models import IdMixin
from hvcase.common.time import utcnow
from hvcase.common.types import UTCDateTime
from hvcase.extensions import db

KINDS = (
    "visit_upcoming",
    "screening_due",
    "referral_follow_up",
    "no_recent_visit",
    "urgent_screening",
)
CHANNELS = ("sms", "email", "log")
STATUSES = ("pending", "deferred", "sent", "failed", "skipped")


class Reminder(IdMixin, db.Model):
    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_status_due", "status", "due_at"),
        Index("ix_reminders_family", "family_id"),
        # One reminder of a kind about one record for one recipient (a re-scored screening
        # does not alert twice).
        Index(
            "uq_reminders_kind_subject_recipient", "kind", "subject_id", "recipient_id", unique=True
        ),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    family_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("families.id"), nullable=True)
    # The staff member a staff reminder is for; None for a message to the family.
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The record it is about (a screening, a visit, a referral).
    subject_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="log")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def remind_once(
    *,
    agency_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    recipient_id: uuid.UUID | None,
    family_id: uuid.UUID | None,
    due_at: datetime | None = None,
    channel: str = "log",
) -> Reminder:
    """The reminder of ``kind`` about ``subject_id`` for ``recipient_id``, recorded now in the
    current transaction (due at once unless ``due_at`` says), unless it exists already."""
    found = db.session.scalar(
        select(Reminder).where(
            Reminder.kind == kind,
            Reminder.subject_id == subject_id,
            Reminder.recipient_id == recipient_id
            if recipient_id is not None
            else Reminder.recipient_id.is_(None),
        )
    )
    if found is not None:
        return found
    reminder = Reminder(
        agency_id=agency_id,
        kind=kind,
        subject_id=subject_id,
        recipient_id=recipient_id,
        family_id=family_id,
        due_at=due_at or utcnow(),
        channel=channel,
    )
    db.session.add(reminder)
    return reminder
