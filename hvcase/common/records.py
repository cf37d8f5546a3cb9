"""One write pipeline: how a record is written, whether the write comes from a REST route or a
/sync change (DESIGN.md, "One write pipeline"; STYLE.md habit 17).

A domain declares a ``Kind``: its model, its bodies, and its steps (scoped lookup, upsert,
void, and hooks where the record is more than one row). The pipeline runs the steps in one
order, each once:

1. the role (``may``: a refusal audited by the domain's hook);
2. the record, or its absence, in the caller's scope (``find``; out of scope is a 404);
3. versions: REST's ``If-Match`` before the body is read; /sync's ``base_version`` against
   what the write would change (nested members included, through ``fingerprint``);
4. the domain's rules, the write and its audit event (``upsert``, ``void``: the domain's
   services, which flush and never commit).

REST routes call ``locate`` and ``put``/``void``; the sync registry (hvcase/sync) calls
``apply``. A domain registers its kinds with ``register``; /sync then syncs them, and the
registry's contract tests (tests/sync/test_registry_contract.py) test them, without either
naming the domain.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from hvcase.common.errors import NotFound, ValidationFailed
from hvcase.common.versioning import check_if_match, refuse_if_match_on_create
from hvcase.extensions import db

Steps = Callable[..., Any]


def _version(record: Any) -> tuple:
    return (record.version,)


def _allowed(_user: Any, _op: str, _record: Any) -> None:
    return None


def _as_is(record: Any) -> Any:
    return record


@dataclass(frozen=True)
class NewBatch:
    """How many new records of a kind are created together (a tablet's batch of new visits):
    ``prefetch`` reads what their rules need in one go; ``build`` checks and builds one,
    unwritten; ``save`` writes those built in one statement, each audited."""

    parents: Callable[[Any, list[dict[str, Any]]], dict[Any, Any]]
    parent_of: Callable[[dict[str, Any]], Any]
    build: Callable[[Any, Any, uuid.UUID, dict[str, Any]], Any]
    save: Callable[[list[Any]], None]


@dataclass(frozen=True)
class Kind:
    """What a domain declares so that its records are written, versioned and synced."""

    name: str
    model: type
    rank: int  # the order of kinds within one change: a family before what is recorded for it
    body: ma.Schema  # a PUT body, and a /sync upsert's data
    current: ma.Schema  # the record as GET of it answers
    pulled: ma.Schema  # the record as a pull sends it
    find: Callable[[Any, uuid.UUID], Any]  # in the caller's scope, else NotFound (audited)
    upsert: Callable[[Any, uuid.UUID, dict[str, Any], Any], tuple[Any, bool]]
    void: Callable[[Any, Any, str | None], Any]
    # Hooks, with what a one-row record needs.
    may: Callable[[Any, str, Any], None] = _allowed  # (user, "upsert"|"void", record)
    fingerprint: Callable[[Any], tuple] = _version  # changes whenever the record changes
    as_current: Callable[[Any], Any] = _as_is  # what GET of one record adds
    find_many: Callable[[Any, list[uuid.UUID]], dict[uuid.UUID, Any]] | None = None
    new_batch: NewBatch | None = None
    # What sending many records at once reads with them, and fills in on them.
    loader_options: tuple = field(default_factory=tuple)
    prepare: Callable[[Any, list[Any]], Any] | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind to the registry (once): /sync syncs it, the contract tests test it."""
    if kind.name in KINDS and KINDS[kind.name] is not kind:
        raise ValueError(f"A kind named {kind.name!r} is registered already.")
    KINDS[kind.name] = kind
    return kind


def by_rank() -> dict[int, Kind]:
    return {kind.rank: kind for kind in KINDS.values()}


# The steps ---------------------------------------------------------------------------------


def locate(kind: Kind, user: Any, record_id: uuid.UUID, *, op: str = "upsert") -> Any | None:
    """Steps 1 to 3 of a REST write (``op``: "upsert" for PUT, "edit" for PATCH, "void"),
    before its body is read: the role, the record in scope (out of scope: 404; for a PUT, None
    when the id was never used: it creates the record) and ``If-Match``."""
    kind.may(user, op, None)
    if op == "upsert" and db.session.get(kind.model, record_id) is None:
        refuse_if_match_on_create()
        return None
    record = kind.find(user, record_id)
    kind.may(user, op, record)
    _lock(record)
    check_if_match(record)
    return record


def held_for_write(statement: Select, model: type) -> Select:
    """``statement`` holding the rows of ``model`` it reads until the commit: concurrent
    writes of a record then apply one after the other, each on the one before.

    FOR NO KEY UPDATE, the lock an UPDATE takes: it keeps other writers of the row out but not
    the key checks of its dependants' foreign keys. A FOR UPDATE would: a transaction editing a
    family's caregiver re-checks that key when the commit stamps the caregiver, after taking
    the agency's clock, and would wait for a writer holding the family, who waits for the
    clock (a deadlock). SQLite has no row locks (its writers are one at a time already)."""
    return statement.with_for_update(key_share=True, of=model)


def _lock(record: Any) -> None:
    """Hold the record's row until the commit, read as it stands: concurrent writes without
    ``If-Match`` then apply one after the other, each answering as it would alone (a 412 is
    only ever the answer to a stale ``If-Match``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        model = type(record)
        db.session.execute(held_for_write(select(model.id).where(model.id == record.id), model))
        db.session.refresh(record)  # as the write before this one left it


def put_by_id(
    kind: Kind, user: Any, record_id: uuid.UUID, load_body: Callable[[], dict[str, Any]]
) -> tuple[Any, bool]:
    """A REST PUT through every step: (the record, True when created). Two identical PUTs of
    a new id at once create it once: the one that finds it created meanwhile replaces it, as
    it would have had it come second (so it changes nothing)."""
    current = locate(kind, user, record_id)
    data = load_body()
    if current is not None:
        return put(kind, user, record_id, data, current)
    try:
        with db.session.begin_nested():
            return put(kind, user, record_id, data, None)
    except IntegrityError:
        db.session.expire_all()
    current = locate(kind, user, record_id)
    return put(kind, user, record_id, data, current)


def put(kind: Kind, user: Any, record_id: uuid.UUID, data: dict[str, Any], current: Any) -> Any:
    """Step 4 of a PUT (or an upsert): create the record with this id, or replace ``current``.
    (The record, True when created.)"""
    if data.get("id") not in (None, record_id):
        raise ValidationFailed({"id": ["Must be the id of the path."]})
    return kind.upsert(user, record_id, data, current)


def void(kind: Kind, user: Any, record: Any, reason: str | None) -> Any:
    """Step 4 of a void."""
    return kind.void(user, record, reason)


class VersionConflict(Exception):
    """A /sync change made on another version than the record's (or a create of an id that
    exists with other content): raised inside the change's savepoint to undo it."""


def apply(
    kind: Kind,
    user: Any,
    change: dict[str, Any],
    body: Callable[[], dict[str, Any]],  # the change's data, loaded (upsert or void)
    *,
    exists: bool | None = None,
    record: Any = None,
) -> tuple[Any, str]:
    """A /sync change through every step: (the record, "applied" or "unchanged").

    A change identical to the record as it stands is unchanged, whatever its base version;
    otherwise it must have been made on the record's version (``base_version``), and an upsert
    without one is a create, which never overwrites an existing record. ``exists`` and
    ``record`` when the caller has read them already (a batch reads its records together).
    """
    record_id = change["id"]
    if record is None:
        if exists is None:
            exists = db.session.get(kind.model, record_id) is not None
        record = kind.find(user, record_id) if exists else None
    kind.may(user, change["op"], record)  # a refusal audited with the record it concerns
    before = kind.fingerprint(record) if record is not None else None
    if change["op"] == "void":
        if record is None:  # nothing to void: the audited 404, as for an id out of scope
            kind.find(user, record_id)
            raise NotFound()
        record = void(kind, user, record, body().get("void_reason"))
    else:
        record, _created = put(kind, user, record_id, body(), record)
    if before is not None and kind.fingerprint(record) == before:
        return record, "unchanged"
    base = change.get("base_version")
    # A void without a base version applies: it is the same whoever sends it.
    made_elsewhere = base is not None or change["op"] == "upsert"
    if before is not None and base != before[0] and made_elsewhere:
        raise VersionConflict()
    return record, "applied"
