"""One transaction per request: commit once when the answer is a success, else roll back.

Services add and flush; they never commit. Records that must outlive a refused request (a
failed login, a denied access) are queued with ``keep_after_rollback`` and written after the
rollback, in a transaction of their own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from hvcase.common.errors import (
    database_unavailable,
    integrity_conflict,
    stale_write,
    unavailable,
)
from hvcase.extensions import db


def keep_after_rollback(record: Any) -> None:
    """Write ``record`` whatever the request's outcome (it survives a rollback)."""
    g.setdefault("lasting_records", []).append(record)


def _finish(response: Response) -> Response:
    lasting = g.pop("lasting_records", [])
    if response.status_code < 400:
        db.session.add_all(lasting)
        try:
            db.session.commit()
        except StaleDataError as error:
            db.session.rollback()
            return stale_write(error)
        except IntegrityError as error:
            db.session.rollback()
            return integrity_conflict(error)
        except SQLAlchemyError as error:
            db.session.rollback()
            if not database_unavailable(error):
                raise
            return unavailable(error)
        return response
    db.session.rollback()
    if lasting:
        db.session.add_all(lasting)
        try:
            db.session.commit()
        except SQLAlchemyError as error:
            # What had to be recorded (a failed sign-in, a denial) was not: the client is
            # told to try again, not given the refusal as if it had been.
            db.session.rollback()
            if not database_unavailable(error):
                raise
            return unavailable(error)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_finish)
