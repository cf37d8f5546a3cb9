"""The family record: the household, its caregivers and children, its assignments and its
enrollment episodes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hvcase.common.models import (
    IdMixin,
    SyncedMixin,
    VersionedMixin,
    VoidableMixin,
    unstamped_index,
)
from hvcase.common.time import utcnow
from hvcase.common.types import JSONType, UTCDateTime
from hvcase.extensions import db


def name_search_index(table: str) -> Index:
    """Trigram index for ``name_key LIKE '%...%'`` (search by any part of a name) on
    PostgreSQL; a plain index elsewhere."""
    return Index(
        f"ix_{table}_name_key_trgm",
        "name_key",
        postgresql_using="gin",
        postgresql_ops={"name_key": "gin_trgm_ops"},
    )


class Family(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    __tablename__ = "families"
    __table_args__ = (
        Index("ix_families_agency_status", "agency_id", "status"),
        Index("ix_families_home_visitor", "home_visitor_id"),
        unstamped_index("families"),
    )

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), nullable=False)
    home_visitor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # The current enrollment episode, kept on the family for lists and measures; the history of
    # episodes is in ``enrollments``.
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="enrolled")
    enrolled_on: Mapped[date] = mapped_column(Date, nullable=False)
    discharged_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    discharge_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    referral_source: Mapped[str | None] = mapped_column(String(30), nullable=True)
    preferred_language: Mapped[str | None] = mapped_column(String(35), nullable=True)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # Both channels always stated (a tablet sends back what it received); none: both false.
    consent: Mapped[dict[str, Any]] = mapped_column(
        JSONType,
        nullable=False,
        default=lambda: {"sms_reminders": False, "email_reminders": False},
    )
    risk_factors: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    household_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    annual_income: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expected_delivery_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    caregivers: Mapped[list[Caregiver]] = relationship(
        back_populates="family", order_by="Caregiver.created_at, Caregiver.id"
    )
    children: Mapped[list[Child]] = relationship(
        back_populates="family", order_by="Child.birth_date, Child.id"
    )

    @property
    def pregnancy(self) -> dict[str, Any] | None:
        if self.expected_delivery_date is None:
            return None
        return {"expected_delivery_date": self.expected_delivery_date}

    @property
    def primary_caregiver(self) -> Caregiver | None:
        return next((c for c in self.caregivers if c.primary and not c.is_voided), None)


class Caregiver(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    __tablename__ = "caregivers"
    __table_args__ = (unstamped_index("caregivers"), name_search_index("caregivers"))

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("families.id"), nullable=False, index=True
    )
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    # Names folded (no case, no accents) for search and duplicate detection.
    name_key: Mapped[str] = mapped_column(String(201), nullable=False, index=True)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    relationship_to_child: Mapped[str] = mapped_column("relationship", String(30), nullable=False)
    primary: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    education: Mapped[str | None] = mapped_column(String(30), nullable=True)
    employment: Mapped[str | None] = mapped_column(String(20), nullable=True)
    insurance: Mapped[str | None] = mapped_column(String(20), nullable=True)

    family: Mapped[Family] = relationship(back_populates="caregivers")


class Child(IdMixin, VersionedMixin, VoidableMixin, SyncedMixin, db.Model):
    __tablename__ = "children"
    __table_args__ = (unstamped_index("children"), name_search_index("children"))

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("families.id"), nullable=False, index=True
    )
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    name_key: Mapped[str] = mapped_column(String(201), nullable=False, index=True)
    birth_date: Mapped[date] = mapped_column(Date, nullable=False)
    sex: Mapped[str | None] = mapped_column(String(1), nullable=True)
    gestational_age_weeks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    gestational_age_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    birth_weight_grams: Mapped[int | None] = mapped_column(Integer, nullable=True)
    enrolled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    family: Mapped[Family] = relationship(back_populates="children")


class Assignment(IdMixin, SyncedMixin, db.Model):
    """Who a family was assigned to, when and by whom: the history of ``home_visitor_id``.
    Its ``change_seq`` tells a tablet's pull when a family entered or left its scope."""

    __tablename__ = "family_assignments"
    __table_args__ = (
        unstamped_index("family_assignments"),
        # A tablet's pull finds the families once assigned to its user through it.
        Index("ix_family_assignments_home_visitor", "home_visitor_id", "family_id"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("families.id"), nullable=False, index=True
    )
    home_visitor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Enrollment(IdMixin, db.Model):
    """One enrollment episode; a re-enrolled family has several."""

    __tablename__ = "family_enrollments"

    family_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("families.id"), nullable=False, index=True
    )
    enrolled_on: Mapped[date] = mapped_column(Date, nullable=False)
    discharged_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    discharge_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    discharge_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
