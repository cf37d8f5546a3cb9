"""Writing audit events. Nothing in the API updates or deletes one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import Select, insert, or_, select

from hvcase.audit.models import AuditEvent
from hvcase.common.net import client_address
from hvcase.common.transaction import keep_after_rollback
from hvcase.extensions import db


def record(
    action: str,
    *,
    object_type: str | None = None,
    object_id: uuid.UUID | str | None = None,
    object_agency_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    user: Any = None,
    lasting: bool = False,
) -> AuditEvent:
    """Record an audit event in the current transaction.

    ``lasting=True`` writes it even when the request is refused (failed logins, denials).
    ``user`` defaults to the signed-in user.
    """
    event = AuditEvent(
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        object_agency_id=object_agency_id,
        detail=detail or {},
        **_actor(user),
    )
    if lasting:
        keep_after_rollback(event)
    else:
        db.session.add(event)
    return event


def record_each(action: str, object_type: str, objects: list[tuple[Any, uuid.UUID]]) -> None:
    """``record`` of one event for each (object id, owning agency id), by the signed-in user,
    inserted together in one statement (a tablet's batch of new records)."""
    if not objects:
        return
    common = {"action": action, "object_type": object_type, "detail": {}, **_actor(None)}
    rows = [
        {**common, "object_id": str(object_id), "object_agency_id": agency_id}
        for object_id, agency_id in objects
    ]
    db.session.execute(insert(AuditEvent), rows)


def _actor(user: Any) -> dict[str, Any]:
    """Who acts (``user``, else the signed-in user) and from where."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    return {
        "user_id": getattr(user, "id", None),
        "actor_agency_id": getattr(user, "agency_id", None),
        "ip": client_address() if has_request_context() else None,
    }


def events_for(user: Any, filters: dict[str, Any]) -> Select:
    """Audit events an agency admin may read: those of their agency's users and those on their
    agency's records (admins: all). Newest first."""
    stmt = select(AuditEvent)
    if user.role != "admin":
        stmt = stmt.where(
            or_(
                AuditEvent.actor_agency_id == user.agency_id,
                AuditEvent.object_agency_id == user.agency_id,
            )
        )
    for name in ("user_id", "object_type", "object_id", "action"):
        if name in filters:
            stmt = stmt.where(getattr(AuditEvent, name) == filters[name])
    if "from_" in filters:
        start = datetime.combine(filters["from_"], time.min, tzinfo=UTC)
        stmt = stmt.where(AuditEvent.at >= start)
    if "to" in filters:
        end = datetime.combine(filters["to"] + timedelta(days=1), time.min, tzinfo=UTC)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt.order_by(AuditEvent.at.desc(), AuditEvent.id)


REDACTED = "[redacted]"


def shown_to(viewer: Any, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """The events as ``viewer`` may read them. The text of a search's ``q`` is family data
    (a name typed in a search box): only the admins of the agency searched read it, everyone
    else (the deployment's admin included) reads ``"[redacted]"``. Redacted here, at read
    time: the stored event keeps it (and nothing may change a stored event)."""
    shown = []
    for event in events:
        detail = dict(event.detail or {})
        if "q" in detail and not _reads_search_text(viewer, event):
            detail["q"] = REDACTED
        shown.append(
            {
                "id": event.id,
                "at": event.at,
                "user_id": event.user_id,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "ip": event.ip,
                "detail": detail,
            }
        )
    return shown


def _reads_search_text(viewer: Any, event: AuditEvent) -> bool:
    # The agency searched: the family's for a search within one family, else the searcher's
    # (a search never reaches past its caller's agency).
    searched = event.object_agency_id or event.actor_agency_id
    return viewer.role == "agency_admin" and searched is not None and viewer.agency_id == searched
