"""The app's JSON is written and read by orjson (hvcase/common/jsonio.py): the same JSON
values Flask's own provider gives, for everything a response can hold."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import UTC, date, datetime

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from hvcase.common.jsonio import JSONProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUES = {
    "text": "Đức Nguyễn — “quoted” \u2028 line separator",
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "day": date(2026, 11, 29),
    "moment": datetime(2026, 11, 29, 23, 50, tzinfo=UTC),
    "amount": decimal.Decimal("12.50"),
    "point": Point(1, 2),
    "nested": {"b": [1, 2.5, None, True], "a": {}},
    3: "a number as a key",
    "huge": 2**70,  # beyond orjson: the standard library writes it
}


def test_responses_hold_what_flask_would_have_written(app: Flask):
    ours, flask_s = JSONProvider(app), DefaultJSONProvider(app)
    for key, value in VALUES.items():
        body = {key: value}
        assert json.loads(ours.dumps(body)) == json.loads(flask_s.dumps(body)), key
        sent = ours.response(body)
        assert sent.mimetype == "application/json"
        assert json.loads(sent.get_data()) == json.loads(flask_s.dumps(body)), key


def test_keys_are_sorted_as_flask_sorts_them(app: Flask):
    assert JSONProvider(app).dumps({"b": 1, "a": {"d": 1, "c": 2}}) == '{"a":{"c":2,"d":1},"b":1}'


def test_requests_are_read_as_sent(app: Flask):
    """A number beyond 64 bits reaches validation as the integer it is (orjson would make it
    a float)."""
    assert JSONProvider(app).loads('{"n": 123456789012345678901234567890}') == {
        "n": 123456789012345678901234567890
    }


def test_the_app_answers_through_it(app: Flask, client):
    assert isinstance(app.json, JSONProvider)
    response = client.get("/api/v1/health")
    assert response.get_json() is not None
