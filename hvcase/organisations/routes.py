"""/agencies."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from flask.views import MethodView
from flask_login import current_user

from hvcase.auth.policy import require_role
from hvcase.common.api import Blueprint, LazyInput
from hvcase.common.pagination import paginate
from hvcase.common.schemas import page_of
from hvcase.common.versioning import check_if_match, if_match, with_etag
from hvcase.organisations import services
from hvcase.organisations.schemas import (
    AgencyCreateSchema,
    AgencyListArgs,
    AgencySchema,
    AgencyUpdateSchema,
)

blp = Blueprint("agencies", __name__, url_prefix="/api/v1", description="Agencies")


@blp.route("/agencies")
class Agencies(MethodView):
    @blp.arguments(AgencyListArgs, location="query")
    @blp.response(200, page_of(AgencySchema))
    def get(self, args: dict) -> Any:
        """Agencies in scope: one's own; a fiscal host's coalition; all for admins. By name."""
        return paginate(services.agencies_for(current_user, args.get("kind")), args)

    @require_role("admin")
    @blp.body(AgencyCreateSchema)
    @blp.response(201, AgencySchema)
    @blp.alt_response(409, response="CONFLICT")
    def post(self, body: LazyInput) -> Any:
        """Create an agency (admins)."""
        return with_etag(services.create_agency(body.load()), 201)


@blp.route("/agencies/<uuid:agency_id>")
class AgencyById(MethodView):
    @blp.response(200, AgencySchema)
    def get(self, agency_id: uuid.UUID) -> Any:
        """One agency in scope."""
        return with_etag(services.get_agency(current_user, agency_id))

    @require_role("agency_admin", "admin")
    @if_match
    @blp.body(AgencyUpdateSchema)
    @blp.response(200, AgencySchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, body: LazyInput, agency_id: uuid.UUID) -> Any:
        """Change an agency: its admin changes its own fields and settings; kind and coalition
        are for admins."""
        agency = services.get_agency(current_user, agency_id)
        services.check_update_allowed(current_user, agency, _comparable(body.peek()))
        check_if_match(agency)
        return with_etag(services.update_agency(agency, body.load()))


def _comparable(raw: dict) -> dict:
    """Raw values made comparable with the stored ones (ids as UUIDs where they parse)."""
    value = raw.get("lead_agency_id")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            raw["lead_agency_id"] = uuid.UUID(value)
    return raw
