"""``Idempotency-Key`` on POST creates: a repeat with the same key and body returns the first
response; the same key with another body is a 422; a concurrent repeat waits for the first
(the unique key row blocks it) and then returns the first response.

Only successful responses are remembered (a refused request rolls back with its key), so a
client may retry a request that failed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from hvcase.common.errors import Conflict, ValidationFailed
from hvcase.common.models import IdMixin
from hvcase.common.time import utcnow
from hvcase.common.types import UTCDateTime
from hvcase.extensions import db

HEADER = "Idempotency-Key"


class IdempotencyRecord(IdMixin, db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    etag: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = current_app.response_class(
        record.response_body, status=record.status_code, mimetype="application/json"
    )
    if record.etag:
        response.headers["ETag"] = record.etag
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _live_record(user_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > utcnow() - ttl,
        )
    )


def idempotent(view: Callable) -> Callable:
    """Honour ``Idempotency-Key`` on a POST that creates (and document the header)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise ValidationFailed({HEADER: ["Must be 1 to 255 characters."]})
        request_hash = _request_hash()
        previous = _live_record(current_user.id, key)
        if previous is None:
            _forget_expired(current_user.id, key)
            record = IdempotencyRecord(user_id=current_user.id, key=key, request_hash=request_hash)
            try:
                with db.session.begin_nested():
                    db.session.add(record)
            except IntegrityError:
                # A concurrent request with this key committed first: answer as it did.
                previous = _live_record(current_user.id, key)
                if previous is None:
                    raise Conflict("A request with this Idempotency-Key is in progress.") from None
        if previous is not None:
            if previous.request_hash != request_hash:
                raise ValidationFailed(
                    {HEADER: ["This key was used with a different request body."]}
                )
            return _replay(previous)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code < 400:
            record.status_code = response.status_code
            record.response_body = response.get_data()
            record.etag = response.headers.get("ETag")
        return response

    apidoc = getattr(wrapper, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["x-hvcase-idempotency-key"] = True
    wrapper._apidoc = apidoc
    return wrapper


def _forget_expired(user_id: uuid.UUID, key: str) -> None:
    """Make room for the key if its last use has expired. Only an expired row: one that a
    concurrent request has just committed is the answer to this request, not in its way (a
    delete of any row with the key let a concurrent repeat create a second record)."""
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    db.session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id,
            IdempotencyRecord.key == key,
            IdempotencyRecord.created_at <= utcnow() - ttl,
        )
    )


def purge_expired() -> int:
    """Delete remembered responses past their time (a beat task calls this daily)."""
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    result = db.session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - ttl)
    )
    return result.rowcount or 0
