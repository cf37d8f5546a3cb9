"""Push a tablet's offline changes, each on its own; pull what changed in its scope since its
cursor, with no change skipped or repeated (see clock.py)."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import defaultdict
from typing import Any

import marshmallow as ma
from sqlalchemy import (
    BindParameter,
    Select,
    Uuid,
    bindparam,
    case,
    false,
    func,
    literal,
    select,
    true,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, lazyload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from hvcase.audit import services as audit
from hvcase.auth.models import User
from hvcase.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    ValidationFailed,
    flatten_messages,
)
from hvcase.extensions import db
from hvcase.families import services as families
from hvcase.families.models import Assignment, Family
from hvcase.families.scope import assigned_staff, visible_families
from hvcase.sync.clock import current_value
from hvcase.sync.entities import BY_RANK, ENTITIES, Entity
from hvcase.visits import services as visits
from hvcase.visits.models import Visit

LAST_ID = uuid.UUID(int=(1 << 128) - 1)


class VoidBody(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    void_reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500))


class _VersionConflict(Exception):
    """Raised inside an item's savepoint to undo a change made on a stale base version."""


# Push --------------------------------------------------------------------------------------


def push(user: User, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply each change in order, each with its own result, none touching another's.

    A change runs in a savepoint of its own, through the services REST runs, so that a refused
    one leaves nothing behind. New visits (what a tablet mostly sends) are the exception that
    keeps a batch fast: a run of them is checked one by one by the same rules, then the ones
    that pass are written together in one savepoint. Should that write fail (another device
    created one of the ids at the same moment), the run is undone and each of its changes
    applied again on its own, so every change still gets its own result.
    """
    results: list[dict[str, Any]] = [{}] * len(changes)
    existing = _existing(changes)
    loaded = _in_scope(user, existing)  # held here: the session keeps no unreferenced record
    seen: set[tuple[str, uuid.UUID]] = set()
    run: list[int] = []  # new visits waiting to be written together
    for index, change in enumerate(changes):
        key = (change["entity"], change["id"])
        new = change["entity"] == "visit" and change["op"] == "upsert"
        if new and key not in existing and key not in seen:
            run.append(index)
        else:  # anything else runs in its place, after the new visits before it
            _create_visits(user, changes, run, results)
            run = []
            results[index] = apply_change(
                user, change, known=key in existing, record=loaded.get(key)
            )
        seen.add(key)
    _create_visits(user, changes, run, results)
    return results


def apply_change(
    user: User, change: dict[str, Any], *, known: bool = False, record: Any = None
) -> dict[str, Any]:
    """One change in its own savepoint, with its result. ``known`` when its record is known
    to exist, ``record`` when it has been read in the caller's scope already (else each is
    looked up)."""
    entity = ENTITIES.get(change["entity"])
    if entity is None:
        return _rejected(change["id"], {"entity": ["Not recorded by this server yet."]})
    try:
        with db.session.begin_nested():
            return _apply(user, entity, change, known, record)
    except REFUSALS as error:
        return _refusal(user, entity, change["id"], error)


REFUSALS = (_VersionConflict, StaleDataError, IntegrityError, ma.ValidationError, Problem)


def _refusal(user: User, entity: Entity, record_id: uuid.UUID, error: Exception) -> dict[str, Any]:
    """The result of a change refused with ``error`` (one of ``REFUSALS``)."""
    if isinstance(error, _VersionConflict | StaleDataError):
        # StaleDataError: another device's change to this record committed first.
        db.session.expire_all()
        return _conflict(user, entity, record_id)
    if isinstance(error, IntegrityError):
        # Another device created a record with this id at the same moment.
        db.session.expire_all()
        return _rejected(record_id, {"id": ["Changed by another device at the same time."]})
    if isinstance(error, ma.ValidationError):
        return _rejected(record_id, _prefixed(flatten_messages(error.messages)))
    if isinstance(error, ValidationFailed):
        return _rejected(record_id, _prefixed(error.errors or {}))
    if isinstance(error, NotFound):
        return _rejected(record_id, {"id": ["not found"]})
    if isinstance(error, Forbidden):
        return _rejected(record_id, {"op": [error.detail or "Not allowed."]})
    if isinstance(error, Conflict):
        db.session.expire_all()
        if db.session.get(entity.model, record_id) is not None:
            return _conflict(user, entity, record_id, error.detail)
        return _rejected(record_id, {"id": [error.detail or "Conflict."]})
    assert isinstance(error, Problem)
    return _rejected(record_id, {"id": [error.detail or "Refused."]})


def _body(entity: Entity, change: dict[str, Any]) -> dict[str, Any]:
    """An upsert's data, loaded as PUT loads its body."""
    data = change["data"]
    if "id" in data and str(data["id"]) != str(change["id"]):
        raise ValidationFailed({"id": ["Must be the change's id."]})
    return entity.body.load(data)


def _apply(
    user: User, entity: Entity, change: dict[str, Any], known: bool, record: Any
) -> dict[str, Any]:
    record_id = change["id"]
    if record is None:
        exists_before = known or db.session.get(entity.model, record_id) is not None
        record = entity.get(user, record_id) if exists_before else None
    before = entity.fingerprint(record) if record is not None else None
    if change["op"] == "void":
        reason = VoidBody().load(change["data"]).get("void_reason")
        if record is None:
            raise NotFound()
        record = entity.void(user, record, reason)
    else:
        record, _created = entity.upsert(user, record_id, _body(entity, change), record)
    after = entity.fingerprint(record)
    if before is not None and after == before:
        return {"id": record_id, "status": "unchanged", "version": record.version}
    base = change.get("base_version")
    if before is not None and base is not None and base < before[0]:
        raise _VersionConflict()
    return {"id": record_id, "status": "applied", "version": record.version}


def _existing(changes: list[dict[str, Any]]) -> set[tuple[str, uuid.UUID]]:
    """The (entity, id) the batch names that were recorded before it (a query an entity)."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for change in changes:
        if change["entity"] in ENTITIES:
            wanted[change["entity"]].append(change["id"])
    found: set[tuple[str, uuid.UUID]] = set()
    for name, ids in wanted.items():
        model = ENTITIES[name].model
        found.update(
            (name, i) for i in db.session.scalars(select(model.id).where(model.id.in_(ids)))
        )
    return found


def _in_scope(user: User, existing: set[tuple[str, uuid.UUID]]) -> dict[tuple, Any]:
    """The batch's existing records in the caller's scope, read together for the entities
    that can (the rest are read one by one as their change comes)."""
    wanted: dict[str, list[uuid.UUID]] = defaultdict(list)
    for name, record_id in existing:
        wanted[name].append(record_id)
    loaded: dict[tuple, Any] = {}
    for name, ids in wanted.items():
        get_many = ENTITIES[name].get_many
        if get_many is not None:
            loaded.update(((name, i), record) for i, record in get_many(user, ids).items())
    return loaded


def _create_visits(
    user: User, changes: list[dict[str, Any]], run: list[int], results: list[dict[str, Any]]
) -> None:
    """Create the new visits of ``run`` (indexes into ``changes``): each is checked as
    ``create_visit`` checks one, and those that pass are inserted together."""
    if not run:
        return
    entity = ENTITIES["visit"]
    bodies: dict[int, dict[str, Any]] = {}
    for index in run:
        try:
            bodies[index] = _body(entity, changes[index])
        except REFUSALS as error:
            results[index] = _refusal(user, entity, changes[index]["id"], error)
    scoped = visits.families_for(user, {body["family_id"] for body in bodies.values()})
    built: dict[int, Visit] = {}
    for index, body in bodies.items():
        change = changes[index]
        family = scoped.get(body["family_id"])
        if family is None:  # refused on its own, as REST refuses it (and audits the denial)
            results[index] = apply_change(user, change)
            continue
        try:
            built[index] = visits.new_visit(user, family, change["id"], body)
        except REFUSALS as error:
            results[index] = _refusal(user, entity, change["id"], error)
    if not built:
        return
    try:
        with db.session.begin_nested():
            visits.save_new_visits(list(built.values()))
    except IntegrityError:  # an id was created meanwhile: each change again on its own
        db.session.expire_all()
        for index in built:
            results[index] = apply_change(user, changes[index])
        return
    for index, visit in built.items():
        results[index] = {"id": visit.id, "status": "applied", "version": visit.version}


def _conflict(
    user: User, entity: Entity, record_id: uuid.UUID, detail: str | None = None
) -> dict[str, Any]:
    record = entity.get(user, record_id)
    if isinstance(record, Family):
        families.family_details(record)  # as GET of one family answers it
    result = {
        "id": record_id,
        "status": "conflict",
        "version": record.version,
        "current": entity.current.dump(record),
    }
    if detail:
        result["errors"] = {"id": [detail]}
    return result


def _rejected(record_id: uuid.UUID, errors: dict[str, list[str]]) -> dict[str, Any]:
    return {"id": record_id, "status": "rejected", "errors": errors}


def _prefixed(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Field errors of an item name the field inside its ``data``."""
    return {("data" if key == "body" else f"data.{key}"): value for key, value in errors.items()}


# Pull --------------------------------------------------------------------------------------


Key = tuple[int, int, uuid.UUID]  # (change number, rank, id): a place in the stream


def encode_cursor(origin: int, key: Key) -> str:
    raw = f"{origin}.{key[0]}.{key[1]}.{key[2].hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, Key]:
    """(origin, key): where the walk of pages began, and the last place returned."""
    if not cursor:
        return -1, (-1, -1, uuid.UUID(int=0))
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        origin, seq, rank, hex_id = base64.urlsafe_b64decode(padded).decode().split(".")
        return int(origin), (int(seq), int(rank), uuid.UUID(hex=hex_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed({"cursor": ["Not a cursor this server gave."]}) from None


def _greatest(a: Any, b: Any) -> Any:
    return case((a >= b, a), else_=b)


OTHER_ASSIGNMENT = aliased(Assignment)  # made once: an alias is costly to build per request


def _ids(name: str, ids: Any) -> BindParameter:
    """A list of ids as one expanding parameter, to name in several parts of a statement
    (``in_`` of a plain list would convert every id again in each part)."""
    return bindparam(name, list(ids), expanding=True, type_=Uuid())


def _first_assignment(staff: BindParameter, *, inside: bool) -> Any:
    """The change number of the family's first assignment on one side of the caller's scope
    (``inside`` or not) since its last assignment on the other side."""
    other = OTHER_ASSIGNMENT
    in_scope = Assignment.home_visitor_id.in_(staff)
    other_in_scope = other.home_visitor_id.in_(staff)
    last_other_side = (
        select(func.max(other.change_seq))
        .where(other.family_id == Family.id, ~other_in_scope if inside else other_in_scope)
        .correlate(Family)
        .scalar_subquery()
    )
    return (
        select(func.min(Assignment.change_seq))
        .where(
            Assignment.family_id == Family.id,
            in_scope if inside else ~in_scope,
            Assignment.change_seq > func.coalesce(last_other_side, 0),
        )
        .correlate(Family)
        .scalar_subquery()
    )


def _changes_since(user: User, origin: int, cursor: Key, limit: int) -> Select | None:
    """One stream of (change number, rank, id, removed) over every synced entity.

    A record's place is the change number of its last change (or of its family's entering the
    caller's scope). A member of a family the tablet may not have yet never comes before its
    family: when the family changed later still, the member takes the family's place, just
    after it. For a home visitor's or supervisor's tablet, such a family is one that entered
    their scope (enrollment included) since ``origin``, where this walk of pages began; for an
    agency's, any family whose member changed since then. A family new to the tablet thus
    always arrives ahead of its members, and a member left alone since ``origin`` is not sent
    again because its family changed. (Should such a family change again while the tablet is
    still paging, a member it already received in this walk comes once more, after the
    family: a repeat, never a skip. A family the tablet had before the walk moves alone.)
    """
    staff = assigned_staff(user)
    staff_ids = _ids("staff", staff) if staff is not None else None
    visible = visible_families(user)
    if staff is None:
        entered = literal(0)
        left = literal(0)
        reach = visible
    else:
        # When the family last entered the caller's scope (the first assignment to someone in
        # scope since it was last with someone outside it), and when it last left (the first
        # assignment outside since it was last in). A move between two people both in scope,
        # or both outside it, neither brings nor removes the family again.
        entered = func.coalesce(_first_assignment(staff_ids, inside=True), 0)
        left = _first_assignment(staff_ids, inside=False)
        ours = union(
            select(Family.id).where(visible),
            select(Assignment.family_id).where(Assignment.home_visitor_id.in_(staff_ids)),
        )
        reach = (Family.agency_id == user.agency_id) & Family.id.in_(ours)
    # The caller's families, and those that were once theirs, each looked at once (not once
    # per member and visit), fetched first: their ids are then named in every part below, so
    # that the planner reads members and visits by family instead of estimating the scope from
    # the whole table (which, at 900,000 visits, meant scanning them all).
    facts = (
        Family.id.label("id"),
        Family.change_seq.label("change_seq"),
        entered.label("entered"),
        case((visible, true()), else_=false()).label("visible"),
        left.label("left"),
    )
    scoped = db.session.execute(select(*facts).where(reach)).all()
    # A family is "quiet" when it has neither changed nor entered the caller's scope since the
    # cursor: its members' places are then their own change numbers, and only the members
    # changed since the cursor can come (found by the change number's index). The other
    # families' members are placed by the rules above. (A family's place, "seq" below, is the
    # later of its own change and its entering; its own change is unknown, None, while this
    # request's pushed edit of it is not yet stamped.)
    quiet = {
        f.id
        for f in scoped
        if f.visible
        and (f.entered if f.change_seq is None else max(f.change_seq, f.entered)) < cursor[0]
    }
    astir = [f.id for f in scoped if f.id not in quiet]
    quiet_ids, astir_ids = _ids("quiet", quiet), _ids("astir", astir)
    known = select(*facts).where(Family.id.in_(astir_ids)).subquery()
    families = select(*known.c, _greatest(known.c.change_seq, known.c.entered).label("seq")).cte(
        "scoped_families"
    )
    parts = []
    for entity in ENTITIES.values():
        model = entity.model
        if quiet and model is not Family:
            parts.append(
                select(
                    literal(entity.rank).label("rank"),
                    model.id.label("id"),
                    model.change_seq.label("seq"),
                    false().label("removed"),
                ).where(model.family_id.in_(quiet_ids), model.change_seq >= cursor[0])
            )
        if not astir:
            continue
        base = select(literal(entity.rank).label("rank"))
        if model is Family:
            base = base.add_columns(families.c.id.label("id")).select_from(families)
            own_change = families.c.change_seq
            seq = families.c.seq
        else:
            base = (
                base.add_columns(model.id.label("id"))
                .join_from(model, families, families.c.id == model.family_id)
                .where(model.family_id.in_(astir_ids))
            )
            own_change = model.change_seq
            seq = _greatest(model.change_seq, families.c.entered)
            # Whether the tablet may not have the family yet. A tablet with assigned families
            # (staff is known) has every family that entered its scope before the walk began,
            # as the walk before ended there; an agency's tablet cannot tell an old family
            # from one created since, so a member changed since then waits for its family.
            new = families.c.entered > origin if staff is not None else seq > origin
            seq = case((new, _greatest(seq, families.c.seq)), else_=seq)
        parts.append(
            base.add_columns(seq.label("seq"), false().label("removed")).where(
                families.c.visible,
                # This request's own pushed writes are unstamped until it commits; they come,
                # stamped, in the next pull (sent now as well, they would come twice).
                own_change.is_not(None),
            )
        )
        if staff is not None:
            parts.append(
                base.add_columns(families.c.left.label("seq"), true().label("removed")).where(
                    ~families.c.visible
                )
            )
    if not parts:
        return None
    stream = union_all(*parts).subquery()
    return (
        select(stream.c.seq, stream.c.rank, stream.c.id, stream.c.removed)
        .where(tuple_(stream.c.seq, stream.c.rank, stream.c.id) > tuple_(*cursor))
        .order_by(stream.c.seq, stream.c.rank, stream.c.id)
        .limit(limit + 1)
    )


def pull(user: User, cursor_token: str | None, limit: int) -> dict[str, Any]:
    """Every change in the caller's scope after the cursor, at most ``limit``."""
    origin, cursor = decode_cursor(cursor_token)
    horizon = current_value()  # read first: every change numbered up to it is visible below
    stream = _changes_since(user, origin, cursor, limit)
    rows = db.session.execute(stream).all() if stream is not None else []
    more = len(rows) > limit
    rows = rows[:limit]
    records = _load(user, rows)
    changes = []
    for _seq, rank, record_id, removed in rows:
        entity = BY_RANK[rank]
        if removed:
            changes.append({"entity": entity.name, "id": record_id, "removed": True})
            continue
        record = records[rank][record_id]
        if record.voided_at is not None:
            changes.append({"entity": entity.name, "id": record_id, "voided": True})
        else:
            changes.append(
                {
                    "entity": entity.name,
                    "id": record_id,
                    "version": record.version,
                    "data": entity.pulled.dump(record),
                }
            )
    if more:  # the walk goes on from the same origin, so every place stays where it was
        last = rows[-1]
        next_cursor = encode_cursor(origin, (last[0], last[1], last[2]))
    else:  # the walk is over: the next one begins here
        last_key = (rows[-1][0], rows[-1][1], rows[-1][2]) if rows else cursor
        next_key = max(last_key, (horizon, 99, LAST_ID))
        next_cursor = encode_cursor(next_key[0], next_key)
    return {"changes": changes, "cursor": next_cursor, "more": more}


def _load(user: User, rows: list[Any]) -> dict[int, dict[uuid.UUID, Any]]:
    """The pulled records, one query per entity whatever their number."""
    wanted: dict[int, list[uuid.UUID]] = defaultdict(list)
    for _seq, rank, record_id, removed in rows:
        if not removed:
            wanted[rank].append(record_id)
    loaded: dict[int, dict[uuid.UUID, Any]] = {}
    for rank, ids in wanted.items():
        model = BY_RANK[rank].model
        stmt = select(model).where(model.id.in_(ids)).options(lazyload("*"))
        if model is Family:
            stmt = stmt.options(selectinload(Family.caregivers), selectinload(Family.children))
        found = {record.id: record for record in db.session.scalars(stmt)}
        if model is Family:
            families.with_attention(user, list(found.values()))
        loaded[rank] = found
    return loaded


def sync(user: User, request: dict[str, Any]) -> dict[str, Any]:
    results = push(user, request["changes"])
    pulled = pull(user, request.get("cursor"), request["limit"])
    audit.record(
        "search",
        object_type="sync",
        detail={
            "device_id": request["device_id"],
            "pushed": len(results),
            "pulled": len(pulled["changes"]),
        },
    )
    return {"results": results, **pulled}
