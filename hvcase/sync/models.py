"""What the server remembers of each tablet: what it holds (pulls) and what it sent (pushes)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from hvcase.common.models import IdMixin
from hvcase.common.time import utcnow
from hvcase.common.types import JSONType, UTCDateTime
from hvcase.extensions import db


class SyncState(IdMixin, db.Model):
    """Where one device stood after one pull: the families it holds in full, how far its
    held families are up to date on its agency's clock, and the removals or arrivals it is in
    the middle of. The cursor a pull answers names the state it made; the next pull starts
    from it, and a replayed pull (same cursor) starts from the same state again, so it answers
    the same. States are never changed, only added (and pruned once old)."""

    __tablename__ = "sync_states"
    __table_args__ = (Index("ix_sync_states_device", "user_id", "device_id", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    device_id: Mapped[str] = mapped_column(String(100), nullable=False)
    # The agency whose clock ``position_seq`` and ``work`` are numbers of.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # The ids of the families the device holds, 16 bytes each, sorted.
    held: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # The last change of the held families sent: (change number, rank, id).
    position_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    position_rank: Mapped[int] = mapped_column(Integer, nullable=False)
    position_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    # Removals and arrivals under way (see hvcase/sync/pull.py).
    work: Mapped[dict[str, Any]] = mapped_column(JSONType, nullable=False, default=dict)


class AppliedChange(db.Model):
    """A pushed change that was applied (or found already applied), remembered per device by
    a digest of the change as sent, so that sending it again answers ``unchanged`` whatever
    happened to the record since."""

    __tablename__ = "sync_applied_changes"
    __table_args__ = (
        Index("ix_sync_applied_changes_device", "user_id", "device_id", "applied_at"),
    )

    # The digest leads the key: a batch's digests are then found by the index whatever the
    # device's history (with the device first, PostgreSQL read the device's every change).
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    entity: Mapped[str] = mapped_column(String(20), nullable=False)
    record_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    # The version the change left the record at.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
