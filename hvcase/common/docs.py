"""Serves the Swagger UI files from the installed package, so the docs page needs no CDN."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from hvcase.common.api import public

blp = Blueprint("docs_assets", __name__)


@blp.route("/api/v1/docs/assets/<path:filename>")
@public
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename)
