"""/sync."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from flask_login import current_user

from hvcase.common.api import Blueprint, LazyInput
from hvcase.families.policy import FAMILY_DATA, require_family_role
from hvcase.sync import services
from hvcase.sync.schemas import SyncRequestSchema, SyncResponseSchema

blp = Blueprint("sync", __name__, url_prefix="/api/v1", description="Offline tablet sync")


@blp.route("/sync")
class Sync(MethodView):
    @require_family_role(*FAMILY_DATA)
    @blp.body(SyncRequestSchema)
    @blp.response(200, SyncResponseSchema)
    def post(self, body: LazyInput) -> Any:
        """Push a batch of offline changes (each applied on its own, with its own result),
        then pull every change in the caller's scope since ``cursor``. Keep the returned
        ``cursor`` for the next call; pull again while ``more`` is true."""
        # Already in the response's shape (each record dumped by its kind's schema): sent as
        # it is rather than walked again through the response schema, which a first pull's
        # thousands of records a page made a third of its time. The document still declares
        # SyncResponseSchema, and the contract tests check the answers against it.
        return jsonify(services.sync(current_user, body.load()))
