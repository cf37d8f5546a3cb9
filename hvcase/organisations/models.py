"""Agencies."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from hvcase.common.models import IdMixin, VersionedMixin
from hvcase.common.types import JSONType
from hvcase.extensions import db

AGENCY_KINDS = ("lead", "member")
PROGRAM_MODELS = ("PAT", "HFA", "NFP", "EHS", "SafeCare", "FamilyConnects", "targeted", "other")


class Agency(IdMixin, VersionedMixin, db.Model):
    __tablename__ = "agencies"
    __table_args__ = (
        CheckConstraint("kind IN ('lead', 'member')", name="kind"),
        CheckConstraint("expected_visits_per_month >= 0", name="expected_visits"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    lead_agency_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agencies.id"), nullable=True, index=True
    )
    model: Mapped[str] = mapped_column(String(20), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    expected_visits_per_month: Mapped[float] = mapped_column(
        Numeric(5, 2, asdecimal=False), nullable=False
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)

    def __repr__(self) -> str:
        return f"<Agency {self.name!r}>"

    @property
    def coalition_id(self) -> uuid.UUID:
        """The lead agency of this agency's coalition (a lead agency is its own)."""
        return self.id if self.kind == "lead" else (self.lead_agency_id or self.id)
