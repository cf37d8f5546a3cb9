"""The OpenAPI document tells the truth: schemathesis generates requests from it, valid and
invalid, and checks every answer against it (no 5xx; statuses, media types, headers and bodies
as declared; invalid data refused with a 4xx)."""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api import sign_in_as

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = int(os.environ.get("HVCASE_CONTRACT_EXAMPLES", "25"))


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@SETTINGS
def test_contract_as_agency_admin(case, coalition):
    case.call_and_validate(headers=sign_in_as(coalition.a.admin), checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_contract_as_home_visitor(case, coalition):
    case.call_and_validate(headers=sign_in_as(coalition.a.visitor), checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_contract_as_admin(case, coalition):
    case.call_and_validate(headers=sign_in_as(coalition.admin), checks=CHECKS)


def test_the_openapi_document_and_docs_page_are_public(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/users/{user_id}" in spec["paths"]
    patch = spec["paths"]["/api/v1/users/{user_id}"]["patch"]
    for status in ("401", "403", "404", "412", "422"):
        assert status in patch["responses"], status
    problem = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert "application/problem+json" in problem
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # Every script and style comes from this app (nothing is fetched from elsewhere at run
    # time), and each of them is really served.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith("/api/v1/docs/assets/"), asset
        assert client.get(asset).status_code == 200, asset


def test_the_root_leads_to_the_docs_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/api/v1/docs")
    assert client.get(response.headers["Location"]).status_code == 200
