"""flask-smorest, fitted to our contract.

- errors are ``application/problem+json`` in the OpenAPI document as on the wire;
- the body is parsed only when a view reaches it (after authentication, role, scope and
  ``If-Match``), and a non-JSON body is a 415;
- statuses that every operation of a kind can answer (401 when signed out, 403 for CSRF, 404 on
  record paths, 400/413/415/422 on bodies, 503 on all) are declared by one spec plugin from the
  facts that cause them, so the document cannot forget one.
"""

from __future__ import annotations

import http
import re
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import Request, request
from flask_smorest.utils import prepare_response
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import UnsupportedMediaType

from hvcase.common.errors import PROBLEM_MEDIA_TYPE


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "Validation messages keyed by field path (caregivers.0.birth_date)"
        },
    )


class Parser(FlaskParser):
    """webargs parser: 415 for a body that is not JSON, 400 for malformed JSON."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            if req.content_length or req.headers.get("Transfer-Encoding"):
                raise UnsupportedMediaType()
            return core.missing
        return core.parse_json(req.get_data(cache=True))


def public(view: Callable) -> Callable:
    """Mark a view as open to callers who are not signed in (and document it so)."""
    view.is_public = True  # type: ignore[attr-defined]
    apidoc = getattr(view, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = []
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def body(self, schema: Any, **doc: Any) -> Callable:
        """Document a JSON body and hand the view a ``LazyInput`` to parse it when due."""
        return _lazy_arguments(self, schema, "json", **doc)

    def query(self, schema: Any) -> Callable:
        """Like ``body``, for the query string of a view that must first find its record."""
        return _lazy_arguments(self, schema, "query")


class StandardResponsesPlugin(BasePlugin):
    """Declare the statuses the app's shared machinery can answer for each operation."""

    WRITE_METHODS = {"post", "put", "patch", "delete"}

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            responses = operation.setdefault("responses", {})
            authenticated = operation.get("security") != []

            def declare(status: int, responses: dict = responses) -> None:
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = http.HTTPStatus(status).name

            params = operation.setdefault("parameters", [])
            if operation.pop("x-hvcase-if-match", False):
                params.append("IF_MATCH_VERSION")
                declare(412)
            if operation.pop("x-hvcase-idempotency-key", False):
                params.append("IDEMPOTENCY_KEY")
                declare(409)
            roles = operation.pop("x-hvcase-roles", None)
            if roles:
                declare(403)
                note = "Roles: " + ", ".join(roles) + "."
                operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
            if authenticated:
                declare(401)
                if method in self.WRITE_METHODS:
                    declare(403)  # missing or wrong CSRF token on a cookie session
                    params.append("CSRF_TOKEN")
            if path and re.search(r"{[^}]+}", path):
                declare(404)
            if "requestBody" in operation:
                for status in (400, 413, 415, 422):
                    declare(status)
            if any(p.get("in") == "query" for p in operation.get("parameters", []) if "in" in p):
                declare(422)
            # Every operation reads the database (a signed-in one to check its session or
            # token, the public ones to sign in or to check it): out of reach, it is a 503.
            declare(503)


class Api(flask_smorest.Api):
    """flask-smorest's Api with problem+json error responses and our security schemes."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec_kwargs = kwargs.setdefault("spec_kwargs", {})
        spec_kwargs.setdefault("extra_plugins", [StandardResponsesPlugin()])
        super().__init__(*args, **kwargs)

    def _register_error_handlers(self) -> None:
        """Errors are handled by hvcase.common.errors, not by flask-smorest's JSON handler."""

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            if status == 401:
                response["headers"] = {
                    "WWW-Authenticate": {
                        "description": "Always `Bearer`: the scheme that signs a request in.",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                }
            if status == 503:
                response["headers"] = {
                    "Retry-After": {
                        "description": "Seconds to wait before trying again.",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                    }
                }
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.security_scheme(
            "bearerAuth",
            {"type": "http", "scheme": "bearer", "description": "A tablet token from /auth/tokens"},
        )
        self.spec.components.security_scheme(
            "cookieAuth",
            {"type": "apiKey", "in": "cookie", "name": "hvcase_session"},
        )
        self.spec.components.parameter(
            "CSRF_TOKEN",
            "header",
            {
                "name": "X-CSRF-Token",
                "required": False,
                "description": "Required on state-changing requests signed in by cookie "
                "(GET /auth/csrf); not needed with a bearer token.",
                "schema": {"type": "string"},
            },
        )
        self.spec.components.parameter(
            "IF_MATCH_VERSION",
            "header",
            {
                "name": "If-Match",
                "required": False,
                "description": 'The version the client last saw, as its ETag ("3"). '
                "Absent, the write applies; stale, 412 and nothing changes.",
                "schema": {"type": "string"},
            },
        )
        self.spec.components.parameter(
            "IDEMPOTENCY_KEY",
            "header",
            {
                "name": "Idempotency-Key",
                "required": False,
                "description": "Any string of 1-255 characters. A repeat with the same key and "
                "body returns the first response; the same key with another body is a 422.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            },
        )
        self.spec.options["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]


class LazyInput:
    """A request body or query string parsed only when the view asks for it.

    The contract orders refusals: authentication, CSRF, role, the path's record (404), fields
    the role may not set (403), ``If-Match`` (412), and only then the body (400/415/422). A view
    therefore loads and checks its record first and calls ``load()`` after.
    """

    def __init__(self, parser: Parser, schema: ma.Schema, location: str) -> None:
        self._parser = parser
        self._schema = schema
        self._location = location

    def load(self) -> Any:
        return self._parser.parse(self._schema, location=self._location)

    def peek(self) -> dict[str, Any]:
        """The raw JSON object, unvalidated ({} when absent or malformed): enough to see which
        fields a caller tries to set before the body itself is judged."""
        raw = request.get_json(silent=True) if self._location == "json" else request.args
        return dict(raw) if isinstance(raw, dict) or self._location != "json" else {}


def _lazy_arguments(
    blp: flask_smorest.Blueprint, schema: Any, location: str, **doc: Any
) -> Callable:
    schema_instance = schema() if isinstance(schema, type) else schema
    parameters = {"in": location, "required": True, "schema": schema_instance, **doc}
    status = blp.ARGUMENTS_PARSER.DEFAULT_VALIDATION_STATUS

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            lazy = LazyInput(blp.ARGUMENTS_PARSER, schema_instance, location)
            return func(*args, lazy, **kwargs)

        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        docs = wrapper._apidoc.setdefault("arguments", {})
        docs.setdefault("parameters", []).append(parameters)
        docs.setdefault("responses", {})[status] = http.HTTPStatus(status).name
        return wrapper

    return decorator
