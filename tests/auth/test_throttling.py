"""Failed logins are throttled per account (10 in 15 minutes) and per address (100: a whole
agency's tablets may share one); only failures count, and a throttled caller is told when to
come back. The limiter's storage is emptied before each test (conftest)."""

from __future__ import annotations

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
