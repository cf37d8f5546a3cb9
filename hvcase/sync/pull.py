"""The pull: what a device must receive to hold exactly the caller's families, page by page.

The server remembers, per device, which families it holds and how far they are up to date
(``SyncState``; the cursor names one). A pull compares that with the caller's scope now, in one
snapshot of the database, and sends, up to ``limit`` changes:

1. **Removals**: for each family held but no longer in scope (reassigned away, voided, its
   home visitor given another supervisor, the caller's role, supervisor or agency changed:
   whatever the cause, it is just "held and not in scope"), every record of the family as
   ``removed``, then the family itself.
2. **Changes** of the held families since the state's position on the agency's clock, in the
   order the clock numbered them, up to the snapshot's clock value.
3. **Arrivals**: for each family in scope but not held, the family, then everything recorded
   for it, as the snapshot has it.

Removals and arrivals go in batches of families fixed when the batch starts, walked in
(family, rank, id) order, so a batch split over pages continues exactly where it stopped.
While an arrival batch is under way the changes of step 2 wait: the arriving families are
sent as they stood at the batch's start (their records changed later are left for step 2), so
once the batch ends every held family is up to date to that same clock value, and step 2
continues from there for all of them. Nothing can be skipped: a held family's change is
either at or before the position (sent) or after it (still to come); a family is added to
``held`` only as it is sent, and dropped only as its removal ends.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from bisect import bisect_left
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, literal, select, tuple_, union_all
from sqlalchemy.engine import Engine

from hvcase.auth.models import User
from hvcase.common.errors import ValidationFailed
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.families.models import Family
from hvcase.families.scope import visible_families
from hvcase.sync import dump
from hvcase.sync.clock import current_value
from hvcase.sync.entities import ENTITIES, Entity, by_rank
from hvcase.sync.models import SyncState

LAST_ID = uuid.UUID(int=(1 << 128) - 1)
FAMILY_LAST = 99  # a removed family's rank: after every record of its own
Key = tuple[int, int, uuid.UUID]  # (change number, rank, id): a place in the changes
FamilyKey = tuple[uuid.UUID, int, uuid.UUID]  # (family id, rank, id): a place in a batch
START: Key = (-1, -1, uuid.UUID(int=0))
KEEP_STATES = timedelta(days=30)  # a cursor older than this is no longer answered (422)


@dataclass
class State:
    agency_id: uuid.UUID | None = None
    held: set[uuid.UUID] = field(default_factory=set)
    position: Key = START
    removing: list[uuid.UUID] = field(default_factory=list)
    removed_to: FamilyKey | None = None
    arriving: list[uuid.UUID] = field(default_factory=list)
    arrived_to: FamilyKey | None = None
    as_of: int | None = None

    @classmethod
    def of(cls, row: SyncState) -> State:
        work = row.work or {}
        return cls(
            agency_id=row.agency_id,
            held={uuid.UUID(bytes=row.held[i : i + 16]) for i in range(0, len(row.held), 16)},
            position=(row.position_seq, row.position_rank, row.position_id),
            removing=[uuid.UUID(i) for i in work.get("removing", [])],
            removed_to=_family_key(work.get("removed_to")),
            arriving=[uuid.UUID(i) for i in work.get("arriving", [])],
            arrived_to=_family_key(work.get("arrived_to")),
            as_of=work.get("as_of"),
        )

    def row(self, user: User, device_id: str) -> SyncState:
        work: dict[str, Any] = {}
        if self.removing:
            work["removing"] = _still_to_walk(self.removing, self.removed_to)
            work["removed_to"] = _family_key_json(self.removed_to)
        if self.arriving:
            work["arriving"] = _still_to_walk(self.arriving, self.arrived_to)
            work["arrived_to"] = _family_key_json(self.arrived_to)
            work["as_of"] = self.as_of
        return SyncState(
            user_id=user.id,
            device_id=device_id,
            agency_id=self.agency_id,
            held=b"".join(i.bytes for i in sorted(self.held)),
            position_seq=self.position[0],
            position_rank=self.position[1],
            position_id=self.position[2],
            work=work,
        )


def _still_to_walk(batch: list[uuid.UUID], walked_to: FamilyKey | None) -> list[str]:
    """A batch's families from the one under way on (those before it are done with)."""
    start = bisect_left(batch, walked_to[0]) if walked_to else 0
    return [str(i) for i in batch[start:]]


def _family_key(value: list | None) -> FamilyKey | None:
    if not value:
        return None
    return (uuid.UUID(value[0]), int(value[1]), uuid.UUID(value[2]))


def _family_key_json(key: FamilyKey | None) -> list | None:
    return None if key is None else [str(key[0]), key[1], str(key[2])]


# Cursors -----------------------------------------------------------------------------------


def encode_cursor(state_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(state_id.bytes).decode().rstrip("=")


def _state_of(user: User, device_id: str, cursor: str | None) -> tuple[State, uuid.UUID | None]:
    """The state a cursor names (its id too), or a device's first state for no cursor."""
    if not cursor:
        return State(agency_id=user.agency_id), None
    try:
        state_id = uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise ValidationFailed({"cursor": ["Not a cursor this server gave."]}) from None
    row = db.session.get(SyncState, state_id)
    if (
        row is None
        or row.user_id != user.id
        or row.device_id != device_id
        or row.created_at < utcnow() - KEEP_STATES
    ):
        raise ValidationFailed(
            {"cursor": ["Not a cursor this server gave this device (or too old): pull anew."]}
        )
    return State.of(row), state_id


def check_cursor(user: User, device_id: str, cursor: str | None) -> None:
    """422 unless the cursor is one this server gave this device (and still keeps)."""
    _state_of(user, device_id, cursor)


def _one_snapshot() -> None:
    """Begin the pull's transaction as one snapshot of the database: on PostgreSQL at
    REPEATABLE READ, so every statement sees the same commits; SQLite's transactions are
    snapshots already. (A test's session joins a transaction begun outside it.)"""
    bind = db.session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


# The pull ----------------------------------------------------------------------------------


def pull(user: User, device_id: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """Up to ``limit`` changes that bring the device from the cursor's state toward the
    caller's scope as it stands; ``more`` while some remain."""
    _one_snapshot()
    state, state_id = _state_of(user, device_id, cursor)
    before = replace(state, held=set(state.held))
    if state.agency_id != user.agency_id:  # positions are numbers of another agency's clock
        state = replace(
            state, agency_id=user.agency_id, position=START, arriving=[], arrived_to=None
        )
    horizon = current_value(user.agency_id)
    scope = set(
        db.session.scalars(
            select(Family.id).where(visible_families(user), Family.voided_at.is_(None))
        )
    )
    page = Page(limit)
    _removals(state, scope, page)
    while page.open():
        if state.arriving:
            if _arrivals(state, scope, page):
                continue  # the batch ended: the held families' changes since it began
            break
        if not _changes(state, scope, horizon, page):
            break
        waiting = sorted(scope - state.held - set(state.removing))
        if not waiting:
            break
        state.arriving, state.arrived_to, state.as_of = waiting, None, horizon
    changes = _dump(user, page.rows)
    if state == before and state_id is not None:
        next_id = state_id  # nothing moved: the same cursor again
    else:
        row = state.row(user, device_id)
        db.session.add(row)
        db.session.flush()
        next_id = row.id
    return {
        "changes": changes,
        "cursor": encode_cursor(next_id),
        "more": page.more,
        "families": _families_moved(page.rows),
    }


def _families_moved(rows: list[tuple[int, uuid.UUID, str, uuid.UUID]]) -> dict[str, list[str]]:
    """For the audit log (who has this family on a tablet): the families whose records this
    pull sent, and those it removed."""
    sent = {family for _rank, _id, kind, family in rows if kind == "changed"}
    removed = {family for _rank, _id, kind, family in rows if kind == "removed"}
    return {"sent": sorted(map(str, sent)), "removed": sorted(map(str, removed))}


class Page:
    """The changes of one response: ``limit`` at most, and whether more remain."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # (rank, id, "changed" or "removed", its family's id)
        self.rows: list[tuple[int, uuid.UUID, str, uuid.UUID]] = []
        self.more = False

    @property
    def need(self) -> int:
        return self.limit - len(self.rows)

    def open(self) -> bool:
        return not self.more

    def take(self, found: list[Any], wanted: int) -> list[Any]:
        """The first ``wanted`` of ``found`` (fetched one beyond); the rest mean "more"."""
        if len(found) > wanted:
            self.more = True
        return found[:wanted]


def _removals(state: State, scope: set[uuid.UUID], page: Page) -> None:
    """Step 1: every record of each family held but out of scope, then the family."""
    if not state.removing:
        state.removing, state.removed_to = sorted(state.held - scope), None
    if not state.removing:
        return
    found = _batch_rows(state.removing, state.removed_to, page.need, removal=True)
    rows = page.take(found, page.need)
    for family_id, rank, record_id in rows:
        if rank == FAMILY_LAST:  # the family itself, after its records: it has left
            page.rows.append((_root().rank, record_id, "removed", family_id))
            state.held.discard(family_id)
        else:
            page.rows.append((rank, record_id, "removed", family_id))
        state.removed_to = (family_id, rank, record_id)
    if not page.more:
        state.removing, state.removed_to = [], None


def _changes(state: State, scope: set[uuid.UUID], horizon: int, page: Page) -> bool:
    """Step 2: the held families' changes after the position, up to ``horizon``. True when
    they are all sent."""
    kept = sorted(state.held & scope - set(state.removing))
    end: Key = (horizon, FAMILY_LAST, LAST_ID)
    if kept and state.position < end:
        ids = bindparam("kept", kept, expanding=True, type_=Family.id.type)
        parts = [
            select(
                entity.model.change_seq.label("seq"),
                literal(entity.rank).label("rank"),
                entity.model.id.label("id"),
                _family_of(entity).label("family"),
            ).where(
                _family_of(entity).in_(ids),
                entity.model.change_seq >= state.position[0],
                entity.model.change_seq <= horizon,
            )
            for entity in ENTITIES.values()
        ]
        stream = union_all(*parts).subquery()
        found = db.session.execute(
            select(stream.c.seq, stream.c.rank, stream.c.id, stream.c.family)
            .where(tuple_(stream.c.seq, stream.c.rank, stream.c.id) > tuple_(*state.position))
            .order_by(stream.c.seq, stream.c.rank, stream.c.id)
            .limit(page.need + 1)
        ).all()
        rows = page.take(found, page.need)
        for seq, rank, record_id, family_id in rows:
            page.rows.append((rank, record_id, "changed", family_id))
            state.position = (seq, rank, record_id)
        if page.more:
            return False
    state.position = max(state.position, end)
    return True


def _arrivals(state: State, scope: set[uuid.UUID], page: Page) -> bool:
    """Step 3: each waiting family, then its records as they stood at the batch's start.
    True when the batch has ended."""
    # A family that left scope before it was sent is no longer waited for; one half sent
    # (the family and some of its records) gets none of the rest: out of scope, it is held,
    # so step 1 removes it; removed already (it left, and perhaps came back, since), the
    # device holds none of it, so its records cannot follow (they would come without their
    # family): back in scope, it arrives anew in a later batch, family first.
    current = state.arrived_to[0] if state.arrived_to else None
    if current is not None and (current not in scope or current not in state.held):
        state.arrived_to = (current, FAMILY_LAST, LAST_ID)
    state.arriving = [
        f for f in state.arriving if f in scope or (current is not None and f <= current)
    ]
    found = _batch_rows(state.arriving, state.arrived_to, page.need, as_of=state.as_of)
    rows = page.take(found, page.need)
    for family_id, rank, record_id in rows:
        page.rows.append((rank, record_id, "changed", family_id))
        if rank == _root().rank:
            state.held.add(family_id)
        state.arrived_to = (family_id, rank, record_id)
    if page.more:
        return False
    state.arriving, state.arrived_to, state.as_of = [], None, None
    return True


def _is_root(entity: Entity) -> bool:
    """The family itself: the one kind not recorded for a family (scope is by family)."""
    return not hasattr(entity.model, "family_id")


def _root() -> Entity:
    return next(entity for entity in ENTITIES.values() if _is_root(entity))


def _family_of(entity: Entity) -> Any:
    return entity.model.id if _is_root(entity) else entity.model.family_id


def _batch_rows(
    batch: list[uuid.UUID],
    after: FamilyKey | None,
    need: int,
    *,
    removal: bool = False,
    as_of: int | None = None,
) -> list[FamilyKey]:
    """The records of a batch of families (sorted ids) after ``after``, in (family, rank,
    id) order: up to ``need`` and one more if there is one. Read a few families at a time, so
    that a page reads about what it sends, however large the batch."""
    start = bisect_left(batch, after[0]) if after else 0
    found: list[FamilyKey] = []
    step = max(1, need // 40)
    while start < len(batch) and len(found) <= need:
        group = batch[start : start + step]
        start += step
        found += db.session.execute(
            _batch_statement(group, after, need + 1 - len(found), removal, as_of)
        ).all()
    return found


def _batch_statement(
    group: list[uuid.UUID], after: FamilyKey | None, limit: int, removal: bool, as_of: int | None
) -> Select:
    ids = bindparam("group", group, expanding=True, type_=Family.id.type)
    parts = []
    for entity in ENTITIES.values():
        model = entity.model
        if _is_root(entity):
            rank = FAMILY_LAST if removal else entity.rank
            part = select(
                model.id.label("family"), literal(rank).label("rank"), model.id.label("id")
            ).where(model.id.in_(ids))
        else:
            part = select(
                model.family_id.label("family"),
                literal(entity.rank).label("rank"),
                model.id.label("id"),
            ).where(model.family_id.in_(ids))
            if not removal:  # an arrival: the records as they stood at the batch's start
                # (voided ones too, as ``voided``: a tablet that pulls anew may hold them)
                part = part.where(model.change_seq <= as_of)
        parts.append(part)
    stream = union_all(*parts).subquery()
    statement = select(stream.c.family, stream.c.rank, stream.c.id)
    if after is not None:
        statement = statement.where(
            tuple_(stream.c.family, stream.c.rank, stream.c.id) > tuple_(*after)
        )
    return statement.order_by(stream.c.family, stream.c.rank, stream.c.id).limit(limit)


# What is sent ------------------------------------------------------------------------------


def _dump(user: User, rows: list[tuple[int, uuid.UUID, str, uuid.UUID]]) -> list[dict[str, Any]]:
    kinds = by_rank()
    wanted: dict[int, list[uuid.UUID]] = {}
    for rank, record_id, kind, _family in rows:
        if kind != "removed":
            wanted.setdefault(rank, []).append(record_id)
    records = {rank: dump.read(kinds[rank], user, ids) for rank, ids in wanted.items()}
    changes = []
    for rank, record_id, kind, _family in rows:
        entity = kinds[rank]
        if kind == "removed":
            changes.append({"entity": entity.name, "id": record_id, "removed": True})
            continue
        version, voided, data = records[rank][record_id]
        if voided:
            changes.append({"entity": entity.name, "id": record_id, "voided": True})
        else:
            changes.append(
                {"entity": entity.name, "id": record_id, "version": version, "data": data}
            )
    return changes


def prune_states(user: User, device_id: str) -> None:
    """Forget the device's states older than ``KEEP_STATES`` (their cursors then get 422)."""
    db.session.execute(
        delete(SyncState).where(
            SyncState.user_id == user.id,
            SyncState.device_id == device_id,
            # A day past the limit: a cursor found young enough by this request's check is
            # still there for its pull.
            SyncState.created_at < utcnow() - KEEP_STATES - timedelta(days=1),
        )
    )
