"""flask-smorest, fitted to our contract.

- errors are ``application/problem+json`` in the OpenAPI document as on the wire;
- the body is parsed only when a view reaches it (after authentication, role, scope and
  ``If-Match``), and judged there by one guard, the same for every body (API.md,
  Conventions): above 2 MiB a 413, however it is sent (chunked included); not JSON a 415;
  empty, malformed or nested deeper than 32 levels a 400; then the view's schema (422); a
  PATCH or PUT body naming another id than its path's is a 422 naming ``id``;
- statuses that every operation of a kind can answer (401 when signed out, 403 for CSRF, 404 on
  record paths, 400/413/415/422 on bodies, 503 on all) are declared by one spec plugin from the
  facts that cause them, so the document cannot forget one.
"""

from __future__ import annotations

import http
import json
import re
import uuid
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import IO, Any

import flask
import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask import Flask, request
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream

from hvcase.common.errors import (
    PROBLEM_MEDIA_TYPE,
    BadRequest,
    ValidationFailed,
    flatten_messages,
)

# JSON nested deeper than this is a 400 (API.md): a body that deep is an attack, not a record,
# and Python's parser itself gives up (RecursionError) a few hundred levels further down.
MAX_DEPTH = 32


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


# The body guard ------------------------------------------------------------------------------


class _BoundedStream(LimitedStream):
    """A body sent without ``Content-Length`` (chunked), read up to the app's limit: one byte
    more is a 413. Werkzeug's own bounded stream stops at the limit without a word, so a body
    cut at 2 MiB would be read as if it ended there."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(stream, limit, is_max=True)
        self._end_checked = False

    def readinto(self, buffer: Any) -> int | None:
        count = super().readinto(buffer)
        if self.is_exhausted and not self._end_checked:
            self._end_checked = True
            if self._stream.read(1):
                raise RequestEntityTooLarge()
        return count


class Request(flask.Request):
    """Flask's request, with the 2 MiB limit held on chunked bodies too."""

    @cached_property
    def stream(self) -> IO[bytes]:
        limit = self.max_content_length
        if (
            limit is not None
            and self.content_length is None
            and "wsgi.input_terminated" in self.environ  # the server ends the stream (gunicorn)
        ):
            return _BoundedStream(self.environ["wsgi.input"], limit)
        return super().stream


def _refuse_large_body() -> None:
    """413 at once for a body above the limit, before anything else is done with the request
    (API.md: a 413 may answer at any point), whether or not the view reads a body."""
    if request.content_length is not None:
        if request.max_content_length and request.content_length > request.max_content_length:
            raise RequestEntityTooLarge()
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        request.get_data(cache=True)  # the bounded stream raises past the limit


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Python refuses to read an integer of more than 4300 digits (a ValueError, as if the JSON were
# malformed). Any integer past this many digits is outside every range the API declares, so it
# is read as one that is, and its field answers the 422 that names it.
_LONGEST_INTEGER = 40
_TOO_LARGE = 10**_LONGEST_INTEGER


def _parse_int(text: str) -> int:
    if len(text) > _LONGEST_INTEGER:
        return -_TOO_LARGE if text.startswith("-") else _TOO_LARGE
    return int(text)


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests objects and arrays more than ``MAX_DEPTH`` levels (``{}`` is one
    level, ``{"a": []}`` two). Level by level, not by recursion, whatever the depth."""
    level = [value] if type(value) is dict or type(value) is list else []
    for _ in range(MAX_DEPTH):
        if not level:
            return False
        children: list = []
        for container in level:
            items = container.values() if type(container) is dict else container
            children += [item for item in items if type(item) is dict or type(item) is list]
        level = children
    return bool(level)  # containers below the deepest level allowed


_NO_BODY = object()
_BODY_KEY = "hvcase.json_body"


def json_body() -> Any:
    """The request's JSON body, judged once per request: 413 above the limit, 400 when empty,
    415 when not JSON, 400 when malformed (NaN and Infinity included) or nested deeper than
    ``MAX_DEPTH``. Raises the problem each time it is asked after a failure.

    Kept with the request itself (its WSGI environ), not in ``g``: an app context may outlive
    one request (a test's, a task's), and another request must never read this body."""
    cached = request.environ.get(_BODY_KEY, _NO_BODY)
    if isinstance(cached, Exception):
        raise cached
    if cached is not _NO_BODY:
        return cached
    try:
        body = _read_json_body()
    except Exception as problem:
        request.environ[_BODY_KEY] = problem
        raise
    request.environ[_BODY_KEY] = body
    return body


def _read_json_body() -> Any:
    data = request.get_data(cache=True)
    if not data.strip():
        raise BadRequest("The body is empty: a JSON object is expected.")
    if not is_json_request(request):
        raise UnsupportedMediaType()
    try:
        try:
            body = json.loads(data, parse_constant=_refuse_constant)
        except ValueError:  # perhaps an integer of thousands of digits: read it as too large
            body = json.loads(data, parse_constant=_refuse_constant, parse_int=_parse_int)
    except RecursionError:
        raise BadRequest(f"The body is nested deeper than {MAX_DEPTH} levels.") from None
    except ValueError:  # malformed, not UTF-8, NaN or Infinity
        raise BadRequest("The body is not valid JSON.") from None
    if _too_deep(body):
        raise BadRequest(f"The body is nested deeper than {MAX_DEPTH} levels.")
    return body


def peek_json_body() -> Any:
    """The body, or None when it cannot be read (too large, not JSON, malformed, too deep):
    for the checks that run before the body is judged. Never raises."""
    try:
        return json_body()
    except Exception:
        return None


def _path_id_errors(body: Any) -> dict[str, list[str]]:
    """A PATCH or PUT body whose ``id`` differs from its path's (API.md, Records)."""
    if request.method not in ("PATCH", "PUT") or not isinstance(body, dict):
        return {}
    sent = body.get("id")
    path_ids = [v for v in (request.view_args or {}).values() if isinstance(v, uuid.UUID)]
    if not isinstance(sent, str) or len(path_ids) != 1:
        return {}  # absent, null or not a string: the schema's to judge
    try:
        same = uuid.UUID(sent) == path_ids[0]
    except ValueError:
        return {}  # not a UUID: the schema says so
    return {} if same else {"id": ["Must be the id of the path."]}


class Parser(FlaskParser):
    """webargs parser, for the query strings (bodies go through ``json_body`` and the view's
    schema); a JSON body it is asked for is judged by the same guard. An unknown query
    parameter is a 422 naming it, as an unknown body field is: webargs would drop it, and a
    misspelt filter would then list everything unfiltered."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None}

    def _raw_load_json(self, req: flask.Request) -> Any:
        return json_body()


def public(view: Callable) -> Callable:
    """Mark a view as open to callers who are not signed in (and document it so)."""
    view.is_public = True  # type: ignore[attr-defined]
    apidoc = getattr(view, "_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = []
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


def init_body_guard(app: Flask) -> None:
    """Install the body guard: the bounded request, and the 413 before anything else."""
    app.request_class = Request
    app.before_request(_refuse_large_body)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def body(self, schema: Any, **doc: Any) -> Callable:
        """Document a JSON body and hand the view a ``LazyInput`` to parse it when due."""
        return _lazy_arguments(self, schema, "json", **doc)

    def query(self, schema: Any) -> Callable:
        """Like ``body``, for the query string of a view that must first find its record."""
        return _lazy_arguments(self, schema, "query")


# What If-Match may hold, as the document declares it: *, or quoted entity tags (the server
# also takes more spaces around the commas; see hvcase.common.versioning).
IF_MATCH_PATTERN = r'^(\*|(W/)?"[!#-~]*"(, ?(W/)?"[!#-~]*")*)$'
_NULL_OBJECT = {"type": "object", "nullable": True}


def _nullable_refs(schema: Any) -> None:
    """apispec writes a nullable nested schema, for OpenAPI 3.0, as ``anyOf: [{type: object,
    nullable: true}, {$ref}]``, whose first branch takes any object at all: a generic client
    then never learns the nested schema's rules. Rewritten ``{allOf: [{$ref}], nullable:
    true}``: the nested schema, or null."""
    if isinstance(schema, list):
        for item in schema:
            _nullable_refs(item)
        return
    if not isinstance(schema, dict):
        return
    branches = schema.get("anyOf")
    if isinstance(branches, list) and _NULL_OBJECT in branches:
        rest = [branch for branch in branches if branch != _NULL_OBJECT]
        del schema["anyOf"]
        schema["allOf"] = rest
        schema["nullable"] = True
    for value in schema.values():
        _nullable_refs(value)


class StandardResponsesPlugin(BasePlugin):
    """Declare the statuses the app's shared machinery can answer for each operation (and
    keep the declared schemas as strict as the server: see ``_nullable_refs``)."""

    WRITE_METHODS = {"post", "put", "patch", "delete"}

    def schema_helper(self, name: str, definition: dict, **kwargs: Any) -> None:
        _nullable_refs(definition)  # in place: apispec passes the schema made so far

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
                declare(400)  # a malformed If-Match
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
            elif method in self.WRITE_METHODS:
                declare(413)  # a body is refused above 2 MiB, even where none is read
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

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        init_body_guard(app)  # every body the API reads passes the same guard
        super().init_app(app, *args, **kwargs)

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
                "Absent, the write applies; stale, 412 and nothing changes; on a PUT that "
                "creates, 412 (nothing to match); empty, unquoted or malformed, 400.",
                "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
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
        if self._location != "json":
            return self._parser.parse(self._schema, location=self._location)
        body = json_body()
        errors = _path_id_errors(body)
        try:
            data = self._schema.load(body)
        except ma.ValidationError as error:
            errors = {**flatten_messages(error.messages), **errors}
        if errors:
            raise ValidationFailed(errors)
        return data

    def peek(self) -> dict[str, Any]:
        """The raw JSON object, unvalidated ({} when absent or malformed): enough to see which
        fields a caller tries to set before the body itself is judged."""
        if self._location != "json":
            return dict(request.args)
        raw = peek_json_body()
        return dict(raw) if isinstance(raw, dict) else {}


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
