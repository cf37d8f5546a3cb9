"""Model mixins: ids, timestamps, versions and voiding, written once for every record."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from hvcase.common.time import utcnow
from hvcase.common.types import UTCDateTime


class IdMixin:
    """A UUID primary key; a client may choose it (tablets create records offline)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class VersionedMixin(TimestampMixin):
    """``version`` starts at 1 and grows by one on every UPDATE that changes something.

    SQLAlchemy's version counter also guards the UPDATE itself (``WHERE version = :old``), so
    two writers racing past the ``If-Match`` check cannot both win.
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


class VoidableMixin:
    """Nothing a home visitor recorded is deleted: it is voided, with a reason."""

    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class SyncedMixin:
    """A record tablets pull: ``change_seq`` is the sync clock's value of the transaction that
    last changed it (see hvcase/sync/clock.py). NULL only inside the changing transaction."""

    change_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)


def unstamped_index(table: str) -> Index:
    """The partial index that finds the rows a committing transaction must stamp."""
    return Index(
        f"ix_{table}_unstamped",
        "id",
        postgresql_where=text("change_seq IS NULL"),
        sqlite_where=text("change_seq IS NULL"),
    )
