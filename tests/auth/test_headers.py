"""Headers every client relies on: a 401 says how to sign in (``WWW-Authenticate: Bearer``), and
no cache keeps a copy of what a signed-in request was answered (``Cache-Control: no-store``),
while the public OpenAPI document stays cacheable."""

from __future__ import annotations

import uuid

import pytest

from tests.api import BASE, ApiClient, assert_problem
from tests.factories import PASSWORD


def _signed_out(client):
    return ApiClient(client)


UNAUTHORIZED = {
    "no credentials": lambda client: _signed_out(client).get("/me"),
    "a dead token": lambda client: ApiClient(client, {"Authorization": "Bearer hvc_dead"}).get(
        "/families"
    ),
    "a signed-out write": lambda client: _signed_out(client).post("/families", json={}),
    "wrong credentials": lambda client: _signed_out(client).post(
        "/auth/login", json={"email": "a.hv@example.org", "password": "not the password"}
    ),
    "a token request with wrong credentials": lambda client: _signed_out(client).post(
        "/auth/tokens",
        json={"email": "a.hv@example.org", "password": "not the password", "device_name": "t"},
    ),
}


@pytest.mark.parametrize("case", UNAUTHORIZED)
def test_every_401_carries_www_authenticate_bearer(coalition, client, case):
    response = UNAUTHORIZED[case](client)

    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Cache-Control" not in response.headers  # nobody is signed in


def test_the_openapi_document_declares_the_header_of_a_401(client):
    spec = client.get(f"{BASE}/openapi.json").get_json()

    unauthorized = spec["components"]["responses"]["UNAUTHORIZED"]
    assert unauthorized["headers"]["WWW-Authenticate"]["schema"] == {"type": "string"}
    me = spec["paths"]["/api/v1/me"]["get"]["responses"]["401"]
    assert me == {"$ref": "#/components/responses/UNAUTHORIZED"}


SIGNED_IN = {
    "a record": ("GET", "/me", None, 200),
    "a list": ("GET", "/users", None, 200),
    "a role refusal": ("GET", "/audit-events", None, 403),
    "a record out of scope": ("GET", f"/visits/{uuid.uuid4()}", None, 404),
    "a body refused": ("POST", "/families", {}, 422),
}


@pytest.mark.parametrize("case", SIGNED_IN)
def test_every_response_of_a_signed_in_request_carries_no_store(coalition, api, case):
    method, path, body, status = SIGNED_IN[case]

    response = api.request(method, path, **({} if body is None else {"json": body}))

    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_browser_sign_in_and_sign_out_are_not_cached(coalition, client):
    login = client.post(
        f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD}
    )
    token = client.get(f"{BASE}/auth/csrf")
    logout = client.post(f"{BASE}/auth/logout", headers={"X-CSRF-Token": token.json["csrf_token"]})

    assert (login.status_code, token.status_code, logout.status_code) == (200, 200, 204)
    for response in (login, token, logout):
        assert response.headers["Cache-Control"] == "no-store"


def test_a_new_tokens_secret_is_not_cached(coalition, client):
    response = client.post(
        f"{BASE}/auth/tokens",
        json={"email": "a.hv@example.org", "password": PASSWORD, "device_name": "tablet"},
    )

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"


def test_the_public_documents_stay_cacheable_even_to_a_signed_in_caller(coalition, api, client):
    client.post(f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD})
    # A tablet with its token, and a browser with its cookie (the docs page is a template,
    # whose context loads the cookie's user).
    for caller in (api, ApiClient(client)):
        assert caller.get("/me").headers["Cache-Control"] == "no-store"
        for path in ("/openapi.json", "/docs"):
            response = caller.get(path)

            assert response.status_code == 200
            assert "no-store" not in response.headers.get("Cache-Control", "")
