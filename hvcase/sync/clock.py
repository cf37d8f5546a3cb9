"""The sync clock: commit-ordered change numbers, so that a pull never skips or repeats one.

Every transaction that changes a synced record takes the next value of one counter row just
before it commits, and stamps that value on the rows it changed (``change_seq``). The counter
row stays locked until the commit, so a later number is never committed before an earlier one:
a tablet that has seen number N has seen every change numbered N or less. (A sequence would not
promise that: numbers are handed out at insert time, not in commit order.)
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Integer, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hvcase.common.models import SyncedMixin
from hvcase.extensions import db

DIRTY = "sync_dirty"  # session.info: the synced tables this transaction changed


class SyncClock(db.Model):
    __tablename__ = "sync_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


def current_value() -> int:
    """The highest change number committed so far (read before the data it bounds)."""
    return db.session.scalar(select(SyncClock.value).where(SyncClock.id == 1)) or 0


@cache
def _synced_tables() -> dict[str, Any]:
    return {
        mapper.local_table.name: mapper.local_table
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, SyncedMixin)
    }


@event.listens_for(Session, "before_flush")
def _unstamp_changed_records(session: Session, _context: Any, _instances: Any) -> None:
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, SyncedMixin):
            continue
        if record in session.new or session.is_modified(record, include_collections=False):
            record.change_seq = None
            session.info.setdefault(DIRTY, set()).add(record.__table__.name)


@event.listens_for(Session, "before_commit")
def _stamp_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint (one /sync change) is released; the clock waits for the commit
    session.flush()  # the final flush, so every change of the transaction is unstamped first
    changed = session.info.pop(DIRTY, None)
    if not changed:
        return
    value = session.execute(
        update(SyncClock)
        .where(SyncClock.id == 1)
        .values(value=SyncClock.value + 1)
        .returning(SyncClock.value)
    ).scalar_one()
    for name in sorted(changed):
        table = _synced_tables()[name]
        values: dict[str, Any] = {"change_seq": value}
        if "updated_at" in table.c:
            values["updated_at"] = table.c.updated_at  # stamping is not an edit (no onupdate)
        session.execute(
            update(table).where(table.c.change_seq.is_(None)).values(**values),
            execution_options={"synchronize_session": False},
        )
