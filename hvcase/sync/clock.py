"""The sync clocks: commit-ordered change numbers, one clock per agency.

Every transaction that changes a synced record takes the next value of its agency's clock just
before it commits, and stamps that value on the rows it changed (``change_seq``). The clock's
row stays locked until the commit, so within one agency a later number is never committed
before an earlier one: a pull that reads the clock and the data in one snapshot and sees
number N sees every change of that agency numbered N or less, and none above. (A sequence
would not promise that: its numbers are handed out at insert time, not in commit order.)

Every scope lies inside one agency, so one clock per agency is enough, and a slow commit in
one agency never keeps another's writers waiting.

Every write to a synced table is numbered: ORM flushes are seen by ``before_flush``, and an
INSERT or UPDATE statement run through the session (Core or ORM-enabled) is seen by
``do_orm_execute``, which also clears its ``change_seq`` so the commit stamps the rows. The
app writes nothing through a bare connection (a test checks it).
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Insert, Table, Update, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from hvcase.common.models import SyncedMixin
from hvcase.extensions import db
from hvcase.families.models import Family

DIRTY = "sync_dirty"  # session.info: the synced tables this transaction changed


class SyncClock(db.Model):
    """One agency's clock: the number of its last committed change."""

    __tablename__ = "sync_clocks"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


def current_value(agency_id: uuid.UUID | None) -> int:
    """The agency's last committed change number, as the current snapshot sees it."""
    if agency_id is None:
        return 0
    found = db.session.scalar(select(SyncClock.value).where(SyncClock.agency_id == agency_id))
    return found or 0


@cache
def _synced_tables() -> dict[str, Table]:
    return {
        mapper.local_table.name: mapper.local_table
        for mapper in db.Model.registry.mappers
        if issubclass(mapper.class_, SyncedMixin)
    }


def _mark(session: Session, table_name: str) -> None:
    session.info.setdefault(DIRTY, set()).add(table_name)


@event.listens_for(Session, "before_flush")
def _unstamp_changed_records(session: Session, _context: Any, _instances: Any) -> None:
    for record in list(session.new) + list(session.dirty):
        if not isinstance(record, SyncedMixin):
            continue
        if record in session.new or session.is_modified(record, include_collections=False):
            record.change_seq = None
            _mark(session, record.__table__.name)


@event.listens_for(Session, "do_orm_execute")
def _unstamp_statements(state: ORMExecuteState) -> None:
    """An INSERT or UPDATE of a synced table run as a statement, not through the unit of
    work: its rows are unstamped (so the commit numbers them) and the table marked."""
    statement = state.statement
    if not isinstance(statement, Insert | Update):
        return
    table = statement.table
    name = getattr(table, "name", None)
    if name not in _synced_tables() or state.session.info.get("stamping"):
        return
    if isinstance(statement, Update):
        state.statement = statement.values(change_seq=None)
    _mark(state.session, name)


def _agency_of(table: Table) -> Any:
    """The agency of a synced table's rows: its own ``agency_id``, else its family's."""
    if "agency_id" in table.c:
        return table.c.agency_id
    return (
        select(Family.agency_id)
        .where(Family.id == table.c.family_id)
        .correlate(table)
        .scalar_subquery()
    )


def _tick(session: Session, agency_id: uuid.UUID) -> int:
    """Take the agency's next number; its clock row stays locked until the commit."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = SyncClock.__table__
    statement = (
        insert(table)
        .values(agency_id=agency_id, value=1)
        .on_conflict_do_update(index_elements=["agency_id"], set_={"value": table.c.value + 1})
        .returning(table.c.value)
    )
    return session.execute(statement).scalar_one()


@event.listens_for(Session, "before_commit")
def _stamp_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint (one /sync change) is released; the clock waits for the commit
    session.flush()  # the final flush, so every change of the transaction is unstamped first
    changed = session.info.pop(DIRTY, None)
    if not changed:
        return
    tables = [_synced_tables()[name] for name in sorted(changed)]
    agencies: set[uuid.UUID] = set()
    for table in tables:
        agencies.update(
            session.scalars(
                select(_agency_of(table)).where(table.c.change_seq.is_(None)).distinct()
            )
        )
    session.info["stamping"] = True
    try:
        # Clocks in a fixed order, so two transactions of several agencies cannot deadlock.
        for agency_id in sorted(a for a in agencies if a is not None):
            value = _tick(session, agency_id)
            only_this_agency = len(agencies) == 1
            for table in tables:
                values: dict[str, Any] = {"change_seq": value}
                if "updated_at" in table.c:
                    values["updated_at"] = table.c.updated_at  # stamping is not an edit
                stamp = update(table).where(table.c.change_seq.is_(None)).values(**values)
                if not only_this_agency:
                    stamp = stamp.where(_agency_of(table) == agency_id)
                session.execute(stamp, execution_options={"synchronize_session": False})
    finally:
        session.info.pop("stamping", None)
