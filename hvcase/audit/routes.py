"""/audit-events: read-only; nothing in the API changes or deletes an event."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user

from hvcase.audit import services
from hvcase.audit.schemas import AuditEventArgs, AuditEventSchema
from hvcase.auth.policy import require_role
from hvcase.common.api import Blueprint
from hvcase.common.pagination import paginate
from hvcase.common.schemas import page_of

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="The audit log")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @require_role("agency_admin", "admin")
    @blp.arguments(AuditEventArgs, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args: dict) -> Any:
        """Events of one's agency's users and on one's agency's records (admins: all).
        Newest first. A search's ``q`` reads "[redacted]" but to the admins of the agency
        searched."""
        filters = {k: v for k, v in args.items() if k not in ("page", "per_page")}
        page = paginate(services.events_for(current_user, filters), args)
        page["items"] = services.shown_to(current_user, page["items"])
        return page
