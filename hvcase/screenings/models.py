"""Screenings and observations: dated facts about a family's children and caregivers,
recorded by home visitors and synced to their tablets like visits."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hvcase.common.models import (
    IdMixin,
    SyncedMixin,
    VersionedMixin,
    VoidableMixin,
    unstamped_index,
)
from hvcase.common.types import JSONType
from hvcase.extensions import db


class Screening(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    """One questionnaire given to a child (ASQ-3, ASQ:SE-2) or a caregiver (PHQ-9, EPDS,
    HITS), scored by the server when it is recorded. The answers of the caregiver screens are
    family data of the most sensitive kind: every read is audited, none is logged."""

    __tablename__ = "screenings"
    __table_args__ = (
        Index("ix_screenings_family_administered", "family_id", "administered_on"),
        # Whether a child's interval is done (``screening_overdue``, for every family of a
        # list, window by window) is read from this index alone: ``voided_at`` is carried in it.
        Index(
            "ix_screenings_child_interval",
            "child_id",
            "instrument",
            "interval",
            postgresql_include=["voided_at"],
        ),
        Index("ix_screenings_caregiver", "caregiver_id"),
        # The few urgent screenings (``urgent_screening``): without it a family list read the
        # whole table. The condition is the reason's own (``urgent IS true``, not ``urgent``),
        # so that PostgreSQL sees the index applies.
        Index(
            "ix_screenings_urgent",
            "family_id",
            "administered_on",
            postgresql_where=text("urgent IS TRUE AND voided_at IS NULL"),
            sqlite_where=text("urgent IS TRUE AND voided_at IS NULL"),
        ),
        unstamped_index("screenings"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), nullable=False)
    child_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("children.id"), nullable=True)
    caregiver_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("caregivers.id"), nullable=True
    )
    instrument: Mapped[str] = mapped_column(String(20), nullable=False)
    interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    administered_on: Mapped[date] = mapped_column(Date, nullable=False)
    administered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    # What was sent: item answers, or the domain scores given directly.
    responses: Mapped[Any | None] = mapped_column(JSONType, nullable=True)
    # What the server scored.
    domain_scores: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    zones: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    result: Mapped[str] = mapped_column(String(10), nullable=False)
    referral_recommended: Mapped[bool] = mapped_column(Boolean, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, nullable=False)

    family = relationship("Family", lazy="joined")


class Observation(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    """A dated fact the outcome measures read (API.md's table of codes; MEASURES.md, rule
    R8): about a child, a caregiver, or the family as a whole."""

    __tablename__ = "observations"
    __table_args__ = (
        Index("ix_observations_family_code_observed", "family_id", "code", "observed_on"),
        Index("ix_observations_subject", "subject_id"),
        unstamped_index("observations"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), nullable=False)
    # A caregiver or child of the family (which, the code says), or none.
    subject_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    value: Mapped[Any] = mapped_column(JSONType, nullable=False)
    observed_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)

    family = relationship("Family", lazy="joined")


class ScreeningWindow(db.Model):
    """A child's required interval, its window and whether it is done, kept up to date with
    the child's birth, gestation, the agency's settings and the child's screenings
    (hvcase/screenings/windows.py), so that which families have a screening overdue is one
    indexed range a family for a whole list of families. A voided child has none."""

    __tablename__ = "screening_windows"
    __table_args__ = (
        # The windows still to do, by family: what ``screening_overdue`` and a family's
        # ``screenings_due`` read, a few rows a family.
        Index(
            "ix_screening_windows_open",
            "family_id",
            "due_on",
            postgresql_where=text("screening_id IS NULL"),
            sqlite_where=text("screening_id IS NULL"),
        ),
    )

    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("children.id"), primary_key=True)
    instrument: Mapped[str] = mapped_column(String(20), primary_key=True)
    interval: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("families.id"), nullable=False)
    window_start: Mapped[date] = mapped_column(Date, nullable=False)
    window_end: Mapped[date] = mapped_column(Date, nullable=False)
    # The day the child is the interval's age on the window's clock: overdue after it.
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The end of the child's last required window: past it the child has aged out of the
    # schedule, and a missed interval no longer asks for attention.
    ages_out_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The (first) live screening of this interval, None while it is still to do: set and
    # cleared as screenings are recorded and voided (hvcase/screenings/windows.py).
    screening_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("screenings.id"), nullable=True
    )
