"""A hostile client's battery, generated from the OpenAPI document: every operation that takes
a body or a query string gets every class of malformed input (API.md, Conventions), and must
answer the 4xx problem the contract names, never a 5xx, and write nothing.

The operations, their bodies' fields and their query parameters are read from
``/api/v1/openapi.json``, so a new endpoint or field is tried as soon as it is declared: the
only things written here are the classes of input and how to find a record for a path's id.
Run with ``-s`` to see how many requests the battery sent.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder, TestResponse
from werkzeug.wrappers import Request

from hvcase.extensions import db
from tests.api import BASE, sign_in_as
from tests.factories import FamilyFactory, ObservationFactory, ScreeningFactory, VisitFactory

METHODS = ("get", "post", "put", "patch", "delete")
LIMIT = 2 * 1024 * 1024  # API.md: bodies are at most 2 MiB
PROBLEM = "application/problem+json"
# Integers of thousands of digits: Python's json module refuses to write one, so the body
# carries this marker and the request's text gets the digits.
HUGE = "\x01huge-integer\x01"
HUGE_DIGITS = "9" * 5000


# --- The classes of input -------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One malformed request: what the class is called, how the body (or query) is sent, and
    what the contract answers: a status, and the field the problem's ``errors`` must name."""

    input_class: str
    status: int
    body: bytes | None = None
    content_type: str | None = "application/json"
    chunked: bool = False
    query: dict[str, str] = field(default_factory=dict)
    names: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    new_id: bool = False  # the path names a record that does not exist
    detail: str | None = None  # what the problem's detail must name


def nested(levels: int) -> bytes:
    """An object nesting arrays ``levels`` deep in all (``{"x": []}`` is two levels)."""
    return b'{"x": ' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"


def text_of(body: Any) -> bytes:
    return json.dumps(body).replace(json.dumps(HUGE), HUGE_DIGITS).encode()


def body_classes() -> list[Sent]:
    """What any body may be sent as, whatever the operation."""
    padding = b" " * (LIMIT + 1 - len(b'{"x": ""}'))
    too_large = b'{"x": "' + padding + b'"}'
    return [
        Sent("32 levels (as deep as allowed)", 422, nested(32), names="x"),
        Sent("too deep (33 levels)", 400, nested(33)),
        Sent("too deep (100000 levels)", 400, nested(100_000)),
        Sent("too large", 413, too_large),
        Sent("too large, chunked", 413, too_large, chunked=True),
        Sent("not JSON", 415, b"email=a@example.org", "application/x-www-form-urlencoded"),
        Sent("malformed JSON", 400, b'{"x": '),
        Sent("NaN", 400, b'{"x": NaN}'),
        Sent("empty", 400, b"", None),
        Sent("empty, chunked", 400, b"", chunked=True),
        Sent("not an object", 422, b"[]"),
        Sent("unknown field", 422, b'{"no_such_field": 1}', names="no_such_field"),
    ]


# (input class, value) per declared type: each is a 422 naming the field (API.md: "Values
# have their declared JSON type, strictly").
BAD_VALUES: dict[tuple[str, str | None], list[tuple[str, Any]]] = {
    ("integer", None): [
        ("string for integer", "3"),
        ("fraction for integer", 3.5),
        ("boolean for integer", True),
        ("integer too large for its column", 10**12),
        ("integer of 5000 digits", HUGE),
    ],
    ("number", None): [("string for number", "3"), ("number of 5000 digits", HUGE)],
    ("boolean", None): [("string for boolean", "yes"), ("number for boolean", 1)],
    ("string", "date"): [
        ("date not YYYY-MM-DD", "19950102"),
        ("date at the calendar's start", "0001-01-01"),
        ("date at the calendar's end", "9999-12-31"),
    ],
    ("string", "date-time"): [
        ("timestamp without offset", "2025-03-01T10:00:00"),
        ("timestamp not RFC 3339", "20250301T100000Z"),
        ("timestamp at the calendar's start", "0001-01-01T00:30:00Z"),
        ("timestamp at the calendar's end", "9999-12-31T23:30:00Z"),
    ],
}
BAD_QUERY_VALUES: dict[tuple[str, str | None], list[tuple[str, str]]] = {
    ("integer", None): [
        ("fraction for integer", "3.5"),
        ("word for integer", "three"),
        ("integer too large for its column", str(10**12)),
        ("integer of 5000 digits", HUGE_DIGITS),
    ],
    ("boolean", None): [("word for boolean", "yes"), ("number for boolean", "1")],
    ("string", "date"): BAD_VALUES[("string", "date")],
}


# --- The operations, from the OpenAPI document ------------------------------------------------


@dataclass
class Operation:
    method: str
    path: str  # as the document writes it, with {parameters}
    body: dict | None  # the JSON body's schema, resolved
    query: list[dict]  # the query parameters
    public: bool
    roles: tuple[str, ...]  # the roles the document says may call it (none said: any)
    if_match: bool  # it declares If-Match

    @property
    def names_a_record(self) -> bool:
        return "{" in self.path

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


class Document:
    def __init__(self, spec: dict) -> None:
        self.spec = spec

    def resolve(self, schema: Any) -> dict:
        """A schema with its ``$ref`` followed (and a nullable ``allOf`` of one reference)."""
        while isinstance(schema, dict):
            if "$ref" in schema:
                *_, kind, name = schema["$ref"].split("/")
                schema = self.spec["components"][kind][name]
            elif len(schema.get("allOf", ())) == 1:
                schema = schema["allOf"][0]
            else:
                return schema
        return {}

    def operations(self) -> Iterator[Operation]:
        for path, item in self.spec["paths"].items():
            for method in METHODS:
                if method not in item:
                    continue
                op = item[method]
                content = op.get("requestBody", {}).get("content", {})
                body = content.get("application/json", {}).get("schema")
                parameters = [self.resolve(p) for p in op.get("parameters", [])]
                query = [p for p in parameters if p.get("in") == "query"]
                if_match = any(p.get("name") == "If-Match" for p in parameters)
                roles = re.search(r"Roles: ([a-z_, ]+)\.", op.get("description", ""))
                if body or query:
                    yield Operation(
                        method,
                        path,
                        self.resolve(body) if body else None,
                        query,
                        op.get("security") == [],
                        tuple(roles.group(1).split(", ")) if roles else (),
                        if_match,
                    )

    def schemas_of(self, body: dict) -> Iterator[tuple[str, dict]]:
        """The body's object schema and each object nested in it, by name."""
        return _objects(self, body, "body")

    def typed_fields(self, schema: dict, at: tuple = ()) -> Iterator[tuple[tuple, dict]]:
        """(path, schema) of each field with a declared type, nested ones included
        (``("caregivers", 0, "birth_date")``)."""
        for name, declared in schema.get("properties", {}).items():
            sub = self.resolve(declared)
            kind = sub.get("type")
            if kind == "object" or "properties" in sub:
                yield from self.typed_fields(sub, (*at, name))
            elif kind == "array":
                items = self.resolve(sub.get("items", {}))
                if "properties" in items:
                    yield from self.typed_fields(items, (*at, name, 0))
                elif items.get("type") in SCALARS:
                    yield (*at, name, 0), items
            elif kind in SCALARS:
                yield (*at, name), sub


SCALARS = ("integer", "number", "boolean", "string")


def bad_values(schema: dict) -> list[tuple[str, Any]]:
    """What breaks a field's declared type, format, length or codes."""
    kind, form = schema["type"], schema.get("format")
    if (kind, form) in BAD_VALUES:
        return BAD_VALUES[(kind, form)]
    values: list[tuple[str, Any]] = [("number for string", 3)]
    if form == "uuid":
        values.append(("string not a UUID", "not-a-uuid"))
    if "maxLength" in schema:
        values.append(("string longer than its column", "x" * (schema["maxLength"] + 1)))
    if "enum" in schema:
        values.append(("string outside its codes", "no-such-code"))
    return values


def _objects(document: Document, schema: dict, name: str) -> Iterator[tuple[str, dict]]:
    yield name, schema
    for field_name, declared in schema.get("properties", {}).items():
        sub = document.resolve(declared)
        if sub.get("type") == "array":
            sub = document.resolve(sub.get("items", {}))
        if "properties" in sub:
            yield from _objects(document, sub, f"{name}.{field_name}")


def placed(path: tuple, value: Any) -> Any:
    """``value`` where ``path`` says, in an otherwise empty body."""
    for step in reversed(path):
        value = [value] if isinstance(step, int) else {step: value}
    return value


def dotted(path: tuple) -> str:
    return ".".join(str(step) for step in path)


def sent_for(document: Document, operation: Operation) -> list[Sent]:
    """Every malformed request the battery sends to ``operation``."""
    sent: list[Sent] = []
    if operation.body is not None:
        sent += body_classes()
        for path, schema in document.typed_fields(operation.body):
            for input_class, value in bad_values(schema):
                body = text_of(placed(path, value))
                sent.append(Sent(input_class, 422, body, names=dotted(path)))
    for parameter in operation.query:
        schema = parameter.get("schema", {})
        for input_class, value in BAD_QUERY_VALUES.get(
            (schema.get("type"), schema.get("format")), []
        ):
            query = {parameter["name"]: value}
            sent.append(Sent(f"query: {input_class}", 422, query=query, names=parameter["name"]))
    if operation.query:
        query = {"no_such_parameter": "1"}
        sent.append(Sent("query: unknown parameter", 422, query=query, names="no_such_parameter"))
    if operation.method in ("put", "patch") and operation.names_a_record:
        another = text_of({"id": str(uuid.uuid4())})
        sent.append(Sent("an id other than the path's", 422, another, names="id"))
    sent += if_match_classes(operation)
    return sent


def if_match_classes(operation: Operation) -> list[Sent]:
    """If-Match is judged before the body (API.md's order), so each goes with a body that
    would be a 422."""
    if not operation.if_match:
        return []
    body = b'{"no_such_field": 1}' if operation.body else None
    sent = [
        Sent(f"If-Match {value!r}", 400, body, headers={"If-Match": value}, detail="If-Match")
        for value in ("", "3", "garbage", '"3', 'W/3, "4"')
    ]
    if operation.method == "put":
        creates = Sent("If-Match on a PUT that creates", 412, body, headers={"If-Match": '"1"'})
        sent.append(replace(creates, new_id=True))
    return sent


# --- Sending, and judging the answer ----------------------------------------------------------


def send(client: FlaskClient, method: str, url: str, sent: Sent, headers: dict) -> TestResponse:
    builder = EnvironBuilder(
        path=BASE + url,
        method=method.upper(),
        headers={**headers, **sent.headers},
        query_string=sent.query,
        data=sent.body if sent.body else None,
        content_type=sent.content_type if sent.body is not None else None,
    )
    environ = builder.get_environ()
    if sent.chunked:
        # What a server such as gunicorn hands the app for Transfer-Encoding: chunked: no
        # length, and a stream the server ends.
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
        environ["wsgi.input"] = io.BytesIO(sent.body or b"")
        environ["wsgi.input_terminated"] = True
    return client.open(Request(environ))


def wrong(response: TestResponse, status: int, sent: Sent | None) -> str | None:
    """What is wrong with the answer (``sent``: what the problem must name), or None."""
    if response.status_code != status:
        return f"answered {response.status_code}, not {status}: {response.get_data()[:200]!r}"
    if response.mimetype != PROBLEM:
        return f"answered {response.mimetype}, not {PROBLEM}"
    problem = response.get_json()
    if problem.get("status") != status or not problem.get("type") or not problem.get("title"):
        return f"not a problem of status {status}: {problem}"
    errors = problem.get("errors", {})
    names = sent.names if sent else None
    if names and not any(key == names or key.startswith(names + ".") for key in errors):
        return f"does not name {names}: {problem}"
    if sent and sent.detail and sent.detail not in problem.get("detail", ""):
        return f"its detail does not name {sent.detail}: {problem}"
    return None


def row_counts(audited: bool = False) -> tuple[int, ...]:
    """The rows of every table, and the sum of every version: any write moves one of them
    (``audited``: but the audit log's, where a refusal is rightly recorded)."""
    figures = []
    for table in db.metadata.sorted_tables:
        if audited and table.name == "audit_events":
            continue
        figures.append(select(func.count()).select_from(table).scalar_subquery())
        if "version" in table.c:
            figures.append(select(func.coalesce(func.sum(table.c.version), 0)).scalar_subquery())
    return tuple(db.session.execute(select(*figures)).one())


@dataclass
class Battery:
    client: FlaskClient
    document: Document
    url_of: Callable[[str, bool], str]
    audited: bool = False  # refusals recorded in the audit log (403 and 404 on family data)
    sent: Counter = field(default_factory=Counter)
    operations: set = field(default_factory=set)
    problem_types: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)

    def run(
        self, operation: Operation, sent: Sent, headers: dict, status: int | None = None
    ) -> None:
        """Send ``sent``; the answer must be ``status`` (by default the class's own, and then
        name what the class names)."""
        url = self.url_of(operation.path, sent.new_id)
        before = row_counts(self.audited)
        response = send(self.client, operation.method, url, sent, headers)
        problem = wrong(response, status or sent.status, sent if status is None else None)
        if problem is None and row_counts(self.audited) != before:
            problem = "wrote something"
        if problem:
            self.failures.append(f"{operation} with {sent.input_class}: {problem}")
        if response.status_code == 422:
            self.problem_types[response.get_json()["type"]] = f"{operation} {sent.input_class}"
        self.sent[sent.input_class] += 1
        self.operations.add(str(operation))

    def report(self, who: str) -> None:
        total = sum(self.sent.values())
        print(
            f"\nmalformed-input battery, {who}: {len(self.operations)} operations x "
            f"{len(self.sent)} input classes = {total} requests"
        )
        assert not self.failures, "\n".join(self.failures)


def openapi(client: FlaskClient) -> Document:
    return Document(client.get(BASE + "/openapi.json").get_json())


def world(coalition: Any) -> Callable[[str, bool], str]:
    """How a path's id parameter is filled: with a record of agency a that its admin may
    change, found by the collection the path names (or with an id no record has)."""
    family = FamilyFactory(home_visitor=coalition.a.visitor, children=1)
    records = {
        "families": family.id,
        "caregivers": family.primary_caregiver.id,
        "children": family.children[0].id,
        "visits": VisitFactory(family=family).id,
        "screenings": ScreeningFactory(caregiver=family.primary_caregiver).id,
        "observations": ObservationFactory(child=family.children[0]).id,
        "users": coalition.a.visitor.id,
        "agencies": coalition.a.agency.id,
    }

    def url_of(path: str, new_id: bool = False) -> str:
        steps = path.removeprefix(BASE).split("/")
        for index, step in enumerate(steps):
            if step.startswith("{"):
                collection = steps[index - 1]
                assert collection in records, f"teach the battery an id for /{collection}/{{id}}"
                steps[index] = str(uuid.uuid4() if new_id else records[collection])
        return "/".join(steps)

    return url_of


# --- The battery ----------------------------------------------------------------------------


def test_every_malformed_input_to_every_operation_is_its_4xx_and_writes_nothing(client, coalition):
    document = openapi(client)
    battery = Battery(client, document, world(coalition))
    agency_admin, admin = sign_in_as(coalition.a.admin), sign_in_as(coalition.admin)
    operations = list(document.operations())
    # The document is read, not trusted to be empty: bodies and queries of every domain.
    assert len([op for op in operations if op.body]) >= 20, [str(op) for op in operations]

    for operation in operations:
        # An admin where the document names admins (on users and agencies an agency admin's
        # fields are limited, and such a field is a 403 before the body is judged), else an
        # agency admin.
        headers = admin if "admin" in operation.roles else agency_admin
        for sent in sent_for(document, operation):
            battery.run(operation, sent, headers)

    battery.report("signed in as an agency admin (an admin where admins may call)")
    assert len(battery.problem_types) == 1, battery.problem_types  # every 422, one type


def test_signed_out_malformed_input_is_a_401_first_except_where_sign_in_is_not_needed(
    client, coalition
):
    """Authentication is checked before the body (API.md's order): signed out, a malformed
    body is a 401, but on the sign-in endpoints themselves, where it is the body's 4xx; a body
    too large may be a 413 anywhere."""
    document = openapi(client)
    battery = Battery(client, document, world(coalition))

    for operation in document.operations():
        for sent in sent_for(document, operation):
            if operation.public:
                battery.run(operation, sent, {})
            elif sent.input_class in FEW:
                battery.run(operation, sent, {}, 413 if sent.status == 413 else 401)

    battery.report("signed out")


# A few classes are enough to show what is checked before the body.
FEW = ("too deep (100000 levels)", "too large, chunked", "empty", "query: unknown parameter")


def test_the_role_and_the_record_are_checked_before_the_body(client, coalition):
    """API.md's order: a role that may not use the endpoint is a 403, a record out of reach
    a 404, whatever the body or query."""
    document = openapi(client)
    battery = Battery(client, document, world(coalition), audited=True)
    by_role = {
        role: sign_in_as(user)
        for role, user in (
            ("home_visitor", coalition.a.visitor),
            ("fiscal_host", coalition.fiscal_host),
            ("agency_admin", coalition.a.admin),
        )
    }

    for operation in document.operations():
        refused = [role for role in by_role if operation.roles and role not in operation.roles]
        allowed = "agency_admin" if "agency_admin" in operation.roles else None
        for sent in sent_for(document, operation):
            if sent.input_class not in FEW or sent.status == 413:
                continue
            if refused:
                battery.run(operation, sent, by_role[refused[0]], 403)
            if allowed and operation.names_a_record and operation.method != "put":
                battery.run(operation, replace(sent, new_id=True), by_role[allowed], 404)

    battery.report("a role refused, or a record out of reach")


def test_an_empty_object_patches_nothing(client, coalition):
    """``{}`` is a body (not the empty body, a 400): a PATCH of no field, which answers 200
    and changes nothing, not even the version (API.md: +1 only on a change that changes
    something)."""
    document = openapi(client)
    url_of = world(coalition)
    headers = sign_in_as(coalition.a.admin)
    patches = [op for op in document.operations() if op.method == "patch"]
    assert len(patches) >= 6, [str(op) for op in patches]

    for operation in patches:
        before = row_counts()
        response = send(client, "patch", url_of(operation.path), Sent("{}", 200, b"{}"), headers)
        assert response.status_code == 200, (str(operation), response.get_json())
        assert row_counts() == before, str(operation)


def test_a_hostile_cursor_is_a_422_naming_it_and_nothing_is_applied(api_as, coalition):
    """A /sync cursor is opaque: numbers out of every range, another alphabet, the wrong
    length or type all answer 422 naming it (API.md: a forged or corrupted cursor), never a
    500, and the batch that came with it is not applied."""
    tablet = api_as(coalition.a.visitor)
    family = FamilyFactory(home_visitor=coalition.a.visitor)
    change = {"entity": "family", "op": "void", "id": str(family.id), "data": {}}
    cursors = [
        "18446744073709551616",
        "-1",
        "1e309",
        "NaN",
        "/" * 22,
        "_" * 22,  # 16 bytes of 0xff: a UUID no state has
        "AAAAAAAAAAAAAAAAAAAAAA==",
        "A" * 23,
        "A" * 200,
        "A" * 201,
        "é" * 22,
        "Ａ" * 22,
        "AAAA\u00a0AAAA",
        12345,
        ["A" * 22],
        {"seq": 2**64},
        True,
    ]
    before = row_counts()

    for cursor in cursors:
        response = tablet.post(
            "/sync", json={"device_id": "tab-1", "cursor": cursor, "changes": [change]}
        )
        assert wrong(response, 422, Sent("cursor", 422, names="cursor")) is None, cursor
        assert row_counts() == before, cursor


def test_the_document_bounds_every_field_of_every_body_and_query(client):
    """A generic client learns the server's rules from the document (API.md): every integer
    declares its range (within its column), every string its length, codes, pattern or
    format, and every body refuses what it does not declare."""
    document = openapi(client)
    unbounded = []
    for operation in document.operations():
        fields = list(document.typed_fields(operation.body)) if operation.body else []
        fields += [((p["name"],), document.resolve(p["schema"])) for p in operation.query]
        for path, schema in fields:
            kind = schema.get("type")
            if kind == "integer":
                bounded = "minimum" in schema and "maximum" in schema
                bounded = bounded and -(2**31) <= schema["minimum"] <= schema["maximum"] < 2**31
            elif kind == "string":
                bounded = bool({"maxLength", "enum", "pattern", "format"} & set(schema))
            else:
                bounded = True
            if not bounded:
                unbounded.append(f"{operation} {dotted(path)}: {schema}")
        if operation.body is not None:
            for name, schema in document.schemas_of(operation.body):
                if schema.get("additionalProperties") is not False:
                    unbounded.append(f"{operation} {name}: takes fields it does not declare")
    assert not unbounded, "\n".join(unbounded)
