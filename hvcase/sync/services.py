"""Push a tablet's offline changes, each on its own and exactly once; then pull what the device
must receive (pull.py), from one snapshot taken after the push has committed."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from datetime import timedelta
from typing import Any

import marshmallow as ma
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from hvcase.audit import services as audit
from hvcase.auth.models import User
from hvcase.common import records
from hvcase.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    StaleVersion,
    ValidationFailed,
    flatten_messages,
)
from hvcase.common.records import VersionConflict
from hvcase.common.schemas import Schema
from hvcase.common.time import utcnow
from hvcase.extensions import db
from hvcase.sync import pull as pulling
from hvcase.sync.entities import ENTITIES, Entity
from hvcase.sync.models import AppliedChange

KEEP_APPLIED = timedelta(days=90)  # how long a device's replay is recognised as one
TRANSIENT = {"40001", "40P01"}  # serialization failure, deadlock: worth trying again
TRIES = 3


class VoidBody(Schema):
    """A void's data: its reason, nothing else (the shared base refuses NUL and unknowns)."""

    class Meta:
        unknown = ma.RAISE

    void_reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=500))


# Push --------------------------------------------------------------------------------------


def push(user: User, device_id: str, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply each change in order, each with its own result, none touching another's, and
    each once: a change this device had applied before (the same change, sent again) answers
    ``unchanged`` with the version it produced, whatever happened to the record since.

    A change runs in a savepoint of its own, through the write pipeline REST runs, so that a
    refused one leaves nothing behind. New records of a kind that declares a ``new_batch``
    (new visits, what a tablet mostly sends) are the exception that keeps a batch fast: a run
    of them is checked one by one by the same rules, then the ones that pass are written
    together in one savepoint. Should that write fail (another device
    created one of the ids at the same moment), the run is undone and each of its changes
    applied again on its own, so every change still gets its own result.
    """
    results: list[dict[str, Any]] = [{}] * len(changes)
    digests = [_digest(change) for change in changes]
    replayed = _applied_before(user, device_id, digests)
    existing = _existing(changes)
    loaded = _in_scope(user, existing)  # held here: the session keeps no unreferenced record
    seen: set[tuple[str, uuid.UUID]] = set()
    run: list[int] = []  # new records of one kind waiting to be written together
    for index, change in enumerate(changes):
        key = (change["entity"], change["id"])
        kind = ENTITIES.get(change["entity"])
        new = (
            kind is not None
            and kind.new_batch is not None
            and change["op"] == "upsert"
            and key not in existing
            and key not in seen
        )
        if run and (not new or changes[run[0]]["entity"] != change["entity"]):
            _create_together(user, changes, run, results)
            run = []
        if digests[index] in replayed:
            version = replayed[digests[index]]
            results[index] = {"id": change["id"], "status": "unchanged", "version": version}
        elif new:
            run.append(index)
        else:  # anything else runs in its place, after the new records before it
            results[index] = apply_change(
                user, change, known=key in existing, record=loaded.get(key)
            )
        seen.add(key)
    _create_together(user, changes, run, results)
    _remember(user, device_id, changes, digests, results, replayed)
    return results


def _digest(change: dict[str, Any]) -> str:
    """What identifies a change as sent: its entity, op, id, base version and data."""
    sent = {key: change.get(key) for key in ("entity", "op", "id", "base_version", "data")}
    text = json.dumps(sent, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _applied_before(user: User, device_id: str, digests: list[str]) -> dict[str, int]:
    """The digests among these that this device's earlier changes had, with the version
    each left its record at."""
    if not digests:
        return {}
    rows = db.session.execute(
        select(AppliedChange.digest, AppliedChange.version).where(
            AppliedChange.user_id == user.id,
            AppliedChange.device_id == device_id,
            AppliedChange.digest.in_(set(digests)),
        )
    )
    return dict(rows.all())


def _remember(
    user: User,
    device_id: str,
    changes: list[dict[str, Any]],
    digests: list[str],
    results: list[dict[str, Any]],
    replayed: dict[str, int],
) -> None:
    """Record the changes applied now (or found applied already) in one statement, so a
    replay of them is recognised. A concurrent replay may record one first: kept as is."""
    rows = {
        digest: {
            "user_id": user.id,
            "device_id": device_id,
            "digest": digest,
            "entity": change["entity"],
            "record_id": change["id"],
            "version": result["version"],
            "applied_at": utcnow(),
        }
        for change, digest, result in zip(changes, digests, results, strict=True)
        if result["status"] in ("applied", "unchanged") and digest not in replayed
    }
    if not rows:
        return
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(AppliedChange).on_conflict_do_nothing(), list(rows.values()))


def prune(user: User, device_id: str) -> None:
    """Forget what the device pushed long ago, and its old pull states."""
    db.session.execute(
        delete(AppliedChange).where(
            AppliedChange.user_id == user.id,
            AppliedChange.device_id == device_id,
            AppliedChange.applied_at < utcnow() - KEEP_APPLIED,
        )
    )
    pulling.prune_states(user, device_id)


def apply_change(
    user: User, change: dict[str, Any], *, known: bool = False, record: Any = None
) -> dict[str, Any]:
    """One change in its own savepoint, with its result. ``known`` when its record is known
    to exist, ``record`` when it has been read in the caller's scope already (else each is
    looked up).

    A transient failure (a deadlock, a serialization failure) undoes the savepoint and the
    change is tried again; after ``TRIES`` it is rejected with "try again", the rest of the
    batch standing. A create that meets the same id created by another device at that moment
    is tried again once: the record then exists, and the change is ``unchanged`` or a
    ``conflict``. Only the database being unreachable fails the whole request (503).
    """
    entity = ENTITIES.get(change["entity"])
    if entity is None:
        return _rejected(change["id"], {"entity": ["Not recorded by this server yet."]})
    raced = False
    for _attempt in range(TRIES):
        try:
            with db.session.begin_nested():
                return _apply(user, entity, change, known, record)
        except OperationalError as error:
            if not _transient(error):
                raise
        except IntegrityError as error:
            if raced:
                return _refusal(user, entity, change["id"], error)
            raced = True
        except REFUSALS as error:
            return _refusal(user, entity, change["id"], error)
        db.session.expire_all()
        known, record = False, None  # read again: what was read may have changed
    return _rejected(change["id"], {"_": ["try again"]})


def _transient(error: OperationalError) -> bool:
    return getattr(error.orig, "sqlstate", None) in TRANSIENT


REFUSALS = (VersionConflict, StaleDataError, IntegrityError, ma.ValidationError, Problem)


def _refusal(user: User, entity: Entity, record_id: uuid.UUID, error: Exception) -> dict[str, Any]:
    """The result of a change refused with ``error`` (one of ``REFUSALS``)."""
    if isinstance(error, VersionConflict | StaleDataError | StaleVersion):
        # StaleDataError: another device's change to this record committed first;
        # StaleVersion: a caregiver or child listed in a family at an older version.
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
    """A change's data, loaded: an upsert's as PUT loads its body, a void's reason."""
    data = change["data"]
    if change["op"] == "void":
        return VoidBody().load(data)
    if "id" in data and str(data["id"]) != str(change["id"]):
        raise ValidationFailed({"id": ["Must be the change's id."]})
    return entity.body.load(data)


def _apply(
    user: User, entity: Entity, change: dict[str, Any], known: bool, record: Any
) -> dict[str, Any]:
    record, status = records.apply(
        entity,
        user,
        change,
        lambda: _body(entity, change),
        exists=True if known else None,
        record=record,
    )
    return {"id": change["id"], "status": status, "version": record.version}


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
        find_many = ENTITIES[name].find_many
        if find_many is not None:
            loaded.update(((name, i), record) for i, record in find_many(user, ids).items())
    return loaded


def _create_together(
    user: User, changes: list[dict[str, Any]], run: list[int], results: list[dict[str, Any]]
) -> None:
    """Create the new records of ``run`` (indexes into ``changes``, all of one kind that
    declares a ``new_batch``): each is checked as its REST create checks one, and those that
    pass are inserted together."""
    if not run:
        return
    entity = ENTITIES[changes[run[0]]["entity"]]
    batch = entity.new_batch
    assert batch is not None
    bodies: dict[int, dict[str, Any]] = {}
    for index in run:
        try:
            bodies[index] = _body(entity, changes[index])
        except REFUSALS as error:
            results[index] = _refusal(user, entity, changes[index]["id"], error)
    parents = batch.parents(user, list(bodies.values()))
    built: dict[int, Any] = {}
    for index, body in bodies.items():
        change = changes[index]
        parent = parents.get(batch.parent_of(body))
        if parent is None:  # refused on its own, as REST refuses it (and audits the denial)
            results[index] = apply_change(user, change)
            continue
        try:
            built[index] = batch.build(user, parent, change["id"], body)
        except REFUSALS as error:
            results[index] = _refusal(user, entity, change["id"], error)
    if not built:
        return
    try:
        with db.session.begin_nested():
            batch.save(list(built.values()))
    except (IntegrityError, OperationalError) as error:
        # An id created meanwhile, or a transient failure: each change again on its own, with
        # its own retries and result.
        if isinstance(error, OperationalError) and not _transient(error):
            raise
        db.session.expire_all()
        for index in built:
            results[index] = apply_change(user, changes[index])
        return
    for index, record in built.items():
        results[index] = {"id": record.id, "status": "applied", "version": record.version}


def _conflict(
    user: User, entity: Entity, record_id: uuid.UUID, detail: str | None = None
) -> dict[str, Any]:
    record = entity.as_current(entity.find(user, record_id))  # as GET of it answers
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


def sync(user: User, request: dict[str, Any]) -> dict[str, Any]:
    """Push, commit, then pull from one snapshot that includes what was pushed."""
    device_id = request["device_id"]
    pulling.check_cursor(user, device_id, request.get("cursor"))  # a 422 before anything
    results = push(user, device_id, request["changes"])
    prune(user, device_id)
    # The push stands on its own (its changes are numbered as it commits), so that the pull
    # reads, in a snapshot of its own, a database where the push is a committed fact.
    db.session.commit()
    pulled = pulling.pull(user, device_id, request.get("cursor"), request["limit"])
    moved = pulled.pop("families")
    detail: dict[str, Any] = {
        "device_id": device_id,
        "pushed": len(results),
        "pulled": len(pulled["changes"]),
    }
    # Which families' records went to (or left) which device: the audit can then say who has
    # a family on a tablet.
    if moved["sent"]:
        detail["families_sent"] = moved["sent"]
    if moved["removed"]:
        detail["families_removed"] = moved["removed"]
    audit.record("search", object_type="sync", detail=detail)
    return {"results": results, **pulled}
