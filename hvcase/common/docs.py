"""Serves the Swagger UI files from the installed package, so the docs page needs no CDN; the
site's root leads to that page."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from hvcase.common.api import public

blp = Blueprint("docs_assets", __name__)


@blp.route("/api/v1/docs/assets/<path:filename>")
@public
def asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename)


@blp.route("/")
@public
def home() -> Response:
    """Whoever opens the server's address in a browser finds the API's documentation."""
    return redirect(url_for("api-docs.openapi_swagger_ui"), code=302)
