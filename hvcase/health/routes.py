"""/health: for load balancers and container health checks (public)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import text

from hvcase.common.api import Blueprint, public
from hvcase.common.errors import problem_response
from hvcase.common.schemas import Schema
from hvcase.extensions import db

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Health")


class HealthSchema(Schema):
    status = ma.fields.String(required=True)
    database = ma.fields.String(required=True)


@blp.route("/health")
class Health(MethodView):
    @public
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, response="SERVICE_UNAVAILABLE")
    def get(self) -> Any:
        """The app answers and its database is reachable."""
        try:
            db.session.execute(text("SELECT 1"))
        except Exception:
            return problem_response(503, detail="The database is unreachable.")
        return {"status": "ok", "database": "ok"}
