"""Failed logins are throttled per account (10 in 15 minutes) and per address (100: a whole
agency's tablets may share one); only failures count, and a throttled caller is told when to
come back. The limiter's storage is emptied before each test (conftest)."""

from __future__ import annotations

import io

import pytest

from hvcase.extensions import limiter
from tests.api import BASE, assert_problem
from tests.factories import PASSWORD

WRONG = "not the right password"


def login(client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        f"{BASE}/auth/login",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def issue_token(client, email: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        f"{BASE}/auth/tokens",
        json={"email": email, "password": password, "device_name": "tablet"},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_throttled(response) -> int:
    body = assert_problem(response, 429)
    assert "try again" in body["detail"].lower()
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    return retry_after


def test_the_eleventh_attempt_on_an_account_is_refused_even_with_the_right_password(
    coalition, client
):
    for _ in range(10):
        assert_problem(login(client, "a.hv@example.org", WRONG), 401)

    assert_throttled(login(client, "a.hv@example.org", PASSWORD))
    assert_throttled(login(client, "a.hv@example.org", WRONG))
    # No session was opened by the refused attempt.
    assert_problem(client.get(f"{BASE}/me"), 401)


def test_an_account_is_throttled_wherever_the_attempts_come_from(coalition, client):
    for n in range(10):
        login(client, "a.hv@example.org", WRONG, address=f"10.0.1.{n}")

    assert_throttled(login(client, "a.hv@example.org", PASSWORD, address="10.0.2.1"))


def test_the_account_is_named_without_regard_to_case(coalition, client):
    for n in range(10):
        login(client, "A.HV@example.org" if n % 2 else "a.hv@example.org", WRONG)

    assert_throttled(login(client, "a.Hv@Example.org", PASSWORD))


def test_ten_failures_are_not_yet_throttled(coalition, client):
    for _ in range(9):
        login(client, "a.hv@example.org", WRONG)

    # The tenth failure is still an ordinary 401, and a right password before it signs in.
    assert login(client, "a.hv@example.org", PASSWORD).status_code == 200
    assert_problem(login(client, "a.hv@example.org", WRONG), 401)


def test_successful_logins_do_not_count(coalition, client):
    for _ in range(15):
        assert login(client, "a.hv@example.org", PASSWORD).status_code == 200
    for _ in range(9):
        assert_problem(login(client, "a.hv@example.org", WRONG), 401)

    assert login(client, "a.hv@example.org", PASSWORD).status_code == 200


def test_a_throttled_account_does_not_lock_out_its_colleagues(coalition, client):
    for _ in range(10):
        login(client, "a.hv@example.org", WRONG)

    assert_throttled(login(client, "a.hv@example.org", PASSWORD))
    assert login(client, "a.hv2@example.org", PASSWORD).status_code == 200


def test_token_requests_and_browser_logins_share_the_account_limit(coalition, client):
    for n in range(10):
        if n % 2:
            assert_problem(issue_token(client, "a.hv@example.org", WRONG), 401)
        else:
            assert_problem(login(client, "a.hv@example.org", WRONG), 401)

    assert_throttled(issue_token(client, "a.hv@example.org", PASSWORD))
    assert_throttled(login(client, "a.hv@example.org", PASSWORD))


def test_bodies_that_are_not_credentials_do_not_count(coalition, client):
    for _ in range(12):
        response = client.post(
            f"{BASE}/auth/login",
            json={"email": "a.hv@example.org"},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
        assert_problem(response, 422, "password")

    assert login(client, "a.hv@example.org", PASSWORD).status_code == 200


def test_a_hundred_failures_from_one_address_throttle_that_address(coalition, client):
    for n in range(100):
        assert_problem(login(client, f"guess{n}@example.org", WRONG, address="192.0.2.7"), 401)

    assert_throttled(login(client, "a.hv@example.org", PASSWORD, address="192.0.2.7"))
    assert_throttled(issue_token(client, "a.hv2@example.org", PASSWORD, address="192.0.2.7"))
    # Another address, and the same accounts, are unaffected.
    assert login(client, "a.hv@example.org", PASSWORD, address="192.0.2.8").status_code == 200


def test_a_busy_office_address_is_not_throttled_by_its_staffs_logins(coalition, client):
    emails = ["a.hv@example.org", "a.hv2@example.org", "a.sup@example.org", "a.admin@example.org"]
    # A whole agency's tablets sign in through one address, with a typo now and then.
    for round_ in range(30):
        for email in emails:
            password = WRONG if round_ % 10 == 0 else PASSWORD
            login(client, email, password, address="198.51.100.1")

    for email in emails:
        assert login(client, email, PASSWORD, address="198.51.100.1").status_code == 200


def test_the_per_address_limit_is_configurable(app, coalition, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURES_PER_ADDRESS", "3 per 15 minutes")
    for n in range(3):
        login(client, f"guess{n}@example.org", WRONG, address="203.0.113.9")

    assert_throttled(login(client, "a.hv@example.org", PASSWORD, address="203.0.113.9"))


TOO_DEEP = "[" * 50_000 + "]" * 50_000
TOO_LARGE = '{"email": "a.hv@example.org", "password": "' + "x" * (2 * 1024 * 1024) + '"}'
MALFORMED = {
    "too deep": {"data": TOO_DEEP, "content_type": "application/json"},
    "email too deep": {"data": '{"email": ' + TOO_DEEP + "}", "content_type": "application/json"},
    "too large": {"data": TOO_LARGE, "content_type": "application/json"},
    "too large, chunked": {
        "input_stream": io.BytesIO(TOO_LARGE.encode()),
        "content_type": "application/json",
        "headers": {"Transfer-Encoding": "chunked"},
        "environ_overrides": {"wsgi.input_terminated": True},
    },
    "not JSON": {"data": "email=a.hv@example.org", "content_type": "application/json"},
    "not UTF-8": {"data": b'{"email": "\xff"}', "content_type": "application/json"},
    "not an object": {"json": ["a.hv@example.org", WRONG]},
    "email not a string": {"json": {"email": ["a.hv@example.org"], "password": WRONG}},
    "email a lone surrogate": {
        "data": '{"email": "\\ud800", "password": "x"}',
        "content_type": "application/json",
    },
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_bodies_neither_weaken_nor_reset_the_account_count(coalition, client, kind):
    # Were a malformed body to break the limiter's key, the limiter would take its storage for
    # dead and count in an empty memory store for a while: the failures before would be lost.
    for _ in range(10):
        assert_problem(login(client, "a.hv@example.org", WRONG), 401)
        if "input_stream" in MALFORMED[kind]:
            MALFORMED[kind]["input_stream"].seek(0)
        response = client.post(
            f"{BASE}/auth/login", environ_base={"REMOTE_ADDR": "10.0.0.1"}, **MALFORMED[kind]
        )
        assert response.status_code not in (200, 401, 429)

    assert_throttled(login(client, "a.hv@example.org", PASSWORD))
    assert not limiter._storage_dead


def change_password(api, current: str):
    return api.post(
        "/me/password", json={"current_password": current, "new_password": "a new long password"}
    )


def test_a_wrong_current_password_is_a_failure_of_the_account(coalition, api_as, client):
    api = api_as(coalition.a.visitor)
    for _ in range(10):
        assert_problem(change_password(api, WRONG), 422, "current_password")

    assert_throttled(change_password(api, PASSWORD))
    # One budget per account: its logins are throttled too, its colleagues' are not.
    assert_throttled(login(client, "a.hv@example.org", PASSWORD))
    assert login(client, "a.hv2@example.org", PASSWORD).status_code == 200


def test_failed_logins_and_wrong_current_passwords_share_one_budget(coalition, api_as, client):
    api = api_as(coalition.a.visitor)
    for _ in range(5):
        assert_problem(login(client, "a.hv@example.org", WRONG), 401)
        assert_problem(change_password(api, WRONG), 422, "current_password")

    assert_throttled(change_password(api, PASSWORD))


def test_a_right_current_password_does_not_count(coalition, api_as, client):
    api = api_as(coalition.a.visitor)
    for _ in range(9):
        assert_problem(login(client, "a.hv@example.org", WRONG), 401)

    assert change_password(api, PASSWORD).status_code == 204
    assert login(client, "a.hv@example.org", "a new long password").status_code == 200
