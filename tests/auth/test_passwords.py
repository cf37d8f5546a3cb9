"""Passwords are argon2id with OWASP's parameters, and a hash made with other parameters is
replaced at the next successful sign-in (never at a failed one)."""

from __future__ import annotations

import uuid

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import CHEAPEST
from sqlalchemy import select

import config
from hvcase.auth import passwords
from hvcase.auth.models import User
from hvcase.extensions import db
from tests.api import BASE, assert_problem
from tests.factories import PASSWORD, UserFactory

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
OWASP_PARAMETERS = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}


@pytest.fixture
def owasp(app, monkeypatch):
    """Hash as production does for the length of the test."""
    monkeypatch.setitem(app.config, "PASSWORD_HASH_PROFILE", "owasp")


def parameters_of(password_hash: str) -> dict:
    p = extract_parameters(password_hash)
    return {"memory_cost": p.memory_cost, "time_cost": p.time_cost, "parallelism": p.parallelism}


def stored_hash(user_id) -> str:
    db.session.expire_all()
    return db.session.scalar(select(User.password_hash).where(User.id == user_id))


def test_production_hashes_are_argon2id_with_owasp_parameters(owasp):
    password_hash = passwords.hash_password(PASSWORD)

    assert password_hash.startswith("$argon2id$v=19$")
    assert parameters_of(password_hash) == OWASP_PARAMETERS
    assert PASSWORD not in password_hash


def test_the_same_password_hashes_differently_each_time(owasp):
    assert passwords.hash_password(PASSWORD) != passwords.hash_password(PASSWORD)


def test_verification(owasp):
    password_hash = passwords.hash_password(PASSWORD)

    assert passwords.verify_password(password_hash, PASSWORD)
    assert not passwords.verify_password(password_hash, PASSWORD + " ")
    assert not passwords.verify_password(password_hash, "")


@pytest.mark.parametrize("stored", ["", "plain text", "$argon2id$v=19$garbage", "$2b$12$bcrypt"])
def test_a_stored_value_that_is_not_an_argon2_hash_never_verifies(owasp, stored):
    assert passwords.verify_password(stored, "plain text") is False


def test_a_hash_with_other_parameters_needs_rehashing(owasp):
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    cheapest = PasswordHasher.from_parameters(CHEAPEST).hash(PASSWORD)
    current = passwords.hash_password(PASSWORD)

    assert passwords.needs_rehash(weaker)
    assert passwords.needs_rehash(cheapest)
    assert not passwords.needs_rehash(current)


def test_the_test_profile_is_only_for_tests(app):
    assert app.config["PASSWORD_HASH_PROFILE"] == "cheapest"
    production = config.load("production", environ={"HVCASE_SECRET_KEY": "x" * 32})
    assert production["PASSWORD_HASH_PROFILE"] == "owasp"
    assert config.load("development", environ={})["PASSWORD_HASH_PROFILE"] == "owasp"


def test_a_login_rehashes_a_password_stored_with_old_parameters(coalition, client, owasp):
    user = coalition.a.visitor
    old_hash = stored_hash(user.id)
    assert parameters_of(old_hash) != OWASP_PARAMETERS  # made by the cheap test profile

    response = client.post(
        f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD}
    )

    assert response.status_code == 200
    new_hash = stored_hash(user.id)
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$")
    assert parameters_of(new_hash) == OWASP_PARAMETERS
    assert passwords.verify_password(new_hash, PASSWORD)
    # The next login finds nothing to do.
    client.post(f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD})
    assert stored_hash(user.id) == new_hash


def test_a_token_request_rehashes_too(coalition, client, owasp):
    response = client.post(
        f"{BASE}/auth/tokens",
        json={"email": "a.hv@example.org", "password": PASSWORD, "device_name": "tablet"},
    )

    assert response.status_code == 201
    assert parameters_of(stored_hash(coalition.a.visitor.id)) == OWASP_PARAMETERS


def test_a_failed_login_leaves_the_hash_alone(coalition, client, owasp):
    user = coalition.a.visitor
    old_hash = stored_hash(user.id)

    response = client.post(
        f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": "wrong password!"}
    )

    assert_problem(response, 401)
    assert stored_hash(user.id) == old_hash


def test_a_rehash_does_not_count_as_a_change_of_the_user_record(coalition, client, owasp):
    user = coalition.a.visitor
    version = user.version

    client.post(f"{BASE}/auth/login", json={"email": "a.hv@example.org", "password": PASSWORD})

    db.session.expire_all()
    assert parameters_of(stored_hash(user.id)) == OWASP_PARAMETERS
    assert db.session.get(User, user.id).version == version


def test_a_user_created_through_the_api_gets_an_argon2id_hash(coalition, api_as, owasp):
    response = api_as(coalition.a.admin).post(
        "/users",
        json={
            "email": "new.hv@example.org",
            "name": "New Visitor",
            "role": "home_visitor",
            "password": "a long enough password",
        },
    )

    assert response.status_code == 201
    stored = stored_hash(uuid.UUID(response.get_json()["id"]))
    assert parameters_of(stored) == OWASP_PARAMETERS
    assert passwords.verify_password(stored, "a long enough password")


def test_the_factory_hash_is_a_real_one(coalition):
    user = UserFactory(agency=coalition.a.agency)
    assert passwords.verify_password(stored_hash(user.id), PASSWORD)
