"""The app factory, its configuration and its operator commands."""

from __future__ import annotations

import gc
import json
import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import func, select

import config
from hvcase import create_app, database_url
from hvcase.auth.models import User
from hvcase.common.net import client_address
from hvcase.demo import LOGINS, PASSWORD
from hvcase.extensions import db
from hvcase.organisations.models import Agency
from hvcase.serving import tune_garbage_collection


def test_environment_overrides_are_read_as_the_setting_type():
    settings = config.load(
        "development",
        {
            "HVCASE_REDIS_URL": "redis://cache:6379/0",
            "HVCASE_TOKEN_LIFETIME_DAYS": "7",
            "HVCASE_SESSION_COOKIE_SECURE": "true",
        },
    )
    assert settings["REDIS_URL"] == "redis://cache:6379/0"
    assert settings["TOKEN_LIFETIME_DAYS"] == 7
    assert settings["SESSION_COOKIE_SECURE"] is True


def test_an_unknown_environment_is_refused():
    with pytest.raises(RuntimeError, match="HVCASE_ENV"):
        config.load("staging", {})


@pytest.mark.parametrize("secret", ["", config.DEVELOPMENT_SECRET_KEY, "s" * 31])
def test_production_refuses_to_start_without_a_real_secret_key(secret, tmp_path):
    with pytest.raises(RuntimeError, match=r"HVCASE_SECRET_KEY .*at least 32 characters"):
        create_app(
            "production",
            {"SECRET_KEY": secret, "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite"},
        )


def test_production_starts_with_its_own_secret_key(tmp_path):
    app = create_app(
        "production",
        {"SECRET_KEY": "s" * 32, "DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite"},
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("env", config.ENVIRONMENTS)
def test_no_proxy_is_trusted_unless_the_deployment_says_how_many(env):
    assert config.load(env, {})["PROXY_COUNT"] == 0
    assert config.load(env, {"HVCASE_PROXY_COUNT": "2"})["PROXY_COUNT"] == 2


def _address_seen(env: str, tmp_path, **overrides) -> str:
    """The client address the app takes for a request from 10.9.9.9 whose X-Forwarded-For
    names 203.0.113.50."""
    app = create_app(
        env,
        {"DATABASE_URL": f"sqlite:///{tmp_path}/a.sqlite", "SECRET_KEY": "s" * 32, **overrides},
    )

    def address() -> str:
        return client_address()

    address.is_public = True  # type: ignore[attr-defined]
    app.add_url_rule("/address", view_func=address)
    response = app.test_client().get(
        "/address",
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
        headers={"X-Forwarded-For": "203.0.113.50"},
    )
    return response.get_data(as_text=True)


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_client_address_is_the_connections_by_default(env, tmp_path):
    assert _address_seen(env, tmp_path) == "10.9.9.9"


def test_the_client_address_comes_from_the_proxies_the_deployment_trusts(tmp_path):
    assert _address_seen("production", tmp_path, PROXY_COUNT=1) == "203.0.113.50"


@pytest.fixture
def gc_state():
    """Python's collector as it was, put back after the test (it is the whole process's)."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_served_process_collects_garbage_at_its_configured_threshold(gc_state, tmp_path):
    app = create_app(
        "testing", {"DATABASE_URL": f"sqlite:///{tmp_path}/g.sqlite", "GC_THRESHOLD": 40_000}
    )
    _young, middle, old = gc.get_threshold()

    tune_garbage_collection(app)

    assert gc.get_threshold() == (40_000, middle, old)
    assert gc.get_freeze_count() > 0


def test_a_gc_threshold_of_0_keeps_pythons_default(gc_state, tmp_path):
    app = create_app(
        "testing", {"DATABASE_URL": f"sqlite:///{tmp_path}/g.sqlite", "GC_THRESHOLD": 0}
    )
    before = gc.get_threshold()

    tune_garbage_collection(app)

    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_postgresql_urls_are_driven_by_psycopg_3():
    assert database_url("postgresql://u@db/hv") == "postgresql+psycopg://u@db/hv"
    assert database_url("postgres://u@db/hv") == "postgresql+psycopg://u@db/hv"
    assert database_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"


def test_create_admin_runs_without_prompts_and_can_sign_in(app, client):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "Ops@Example.org",
            "--name",
            "Ops",
            "--password",
            "a-strong-password",
        ]
    )
    assert result.exit_code == 0, result.output
    response = client.post(
        "/api/v1/auth/login", json={"email": "ops@example.org", "password": "a-strong-password"}
    )
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "o@example.org", "--name", "O", "--password", "short"]
    )
    assert result.exit_code != 0
    assert db.session.scalar(select(User).where(User.email == "o@example.org")) is None


def test_seed_demo_prints_logins_that_work(app, client):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for email, _role, _agency in LOGINS:
        assert email in result.output
    visitor = next(email for email, role, _ in LOGINS if role == "home_visitor")
    login = client.post("/api/v1/auth/login", json={"email": visitor, "password": PASSWORD})
    assert login.status_code == 200
    families = client.get("/api/v1/families").get_json()
    assert {f["status"] for f in families["items"]} == {"enrolled", "discharged"}
    assert any(f["pregnancy"] for f in families["items"])
    assert any(f["children"] for f in families["items"])


HUNG_STORAGE_LOGIN = """
import json, sys, time
from hvcase import create_app
app = create_app("testing", json.loads(sys.argv[1]))
client = app.test_client()
started = time.monotonic()
response = client.post("/api/v1/auth/login", json={"email": "someone@example.org"})
print(json.dumps({"status": response.status_code, "seconds": time.monotonic() - started}))
"""


def test_a_hung_rate_limit_storage_does_not_stall_sign_ins(tmp_path):
    # A "Redis" that accepts connections and never answers. The app runs in a process of its
    # own: the limiter is one object per process, and this one must not reach the suite's.
    hung = socket.create_server(("127.0.0.1", 0))
    try:
        overrides = {
            "DATABASE_URL": f"sqlite:///{tmp_path}/h.sqlite",
            "RATELIMIT_STORAGE_URL": f"redis://127.0.0.1:{hung.getsockname()[1]}/0",
        }
        run = subprocess.run(
            [sys.executable, "-c", HUNG_STORAGE_LOGIN, json.dumps(overrides)],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HVCASE_ENV": "testing"},
        )
    finally:
        hung.close()
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    # The limiter gave up on its storage and counted in memory: the request went on (its body
    # lacks a password), well before redis-py's own 5 s wait.
    assert answer["status"] == 422
    assert answer["seconds"] < 2.5


def test_seed_demo_never_runs_in_production(app, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")

    result = app.test_cli_runner().invoke(args=["seed-demo"])

    assert result.exit_code != 0
    assert "production" in result.output
    assert PASSWORD not in result.output
    emails = [email for email, _role, _agency in LOGINS]
    assert db.session.scalar(select(func.count()).where(User.email.in_(emails))) == 0
    assert db.session.scalar(select(func.count()).select_from(Agency)) == 0
