"""hvcase: case management for home visiting programs.

``create_app`` reads as the table of contents: configuration, extensions, the request's
lifecycle (sign-in, one transaction, problem+json errors), what each domain contributes to
another's extension points, the domain blueprints, commands.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from hvcase.common import jsonio

# A production secret key signs every session cookie: shorter ones can be guessed.
MIN_SECRET_KEY_LENGTH = 32


def create_app(env: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    configure(app, env, overrides)
    load_rules(app)  # first: a bad file stops the start before anything is registered
    register_extensions(app)
    register_request_lifecycle(app)
    register_contributions(app)
    register_blueprints(app)
    register_commands(app)
    return app


def configure(app: Flask, env: str | None, overrides: dict[str, Any] | None) -> None:
    app.config.from_mapping(config.load(env))
    app.config.from_mapping(overrides or {})
    if app.config["ENV_NAME"] == "production":
        secret = app.config["SECRET_KEY"]
        if secret == config.DEVELOPMENT_SECRET_KEY or len(secret) < MIN_SECRET_KEY_LENGTH:
            raise RuntimeError(
                f"Set HVCASE_SECRET_KEY to a random string of at least {MIN_SECRET_KEY_LENGTH} "
                "characters: production refuses a shorter one and the development key."
            )
    url = app.config.get("DATABASE_URL")
    if not url:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + os.path.join(app.instance_path, "hvcase.sqlite")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(url)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if url.startswith("postgres"):
        # JIT compilation pays off for long reports, not for the short queries of an API: it
        # added 120-190 ms to sync pulls whose plans looked expensive (see docs/performance.md).
        # Sessions in UTC, whatever the server's own zone: timestamps then arrive in the UTC
        # the app works in, not in a zone each one must be converted from.
        # A database that went away is found before a request uses a dead connection (the
        # pre-ping), and one that cannot be reached (a host down, packets dropped) fails a
        # connection attempt after 3 s rather than the system's minutes: either way the
        # request answers a 503 promptly (API.md), and the next one after its return succeeds.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c jit=off -c timezone=UTC", "connect_timeout": 3},
        }
    # JSON columns are read and written with orjson, as requests and responses are. A
    # statement's parameters never reach a log line or an error message: they are family data
    # (a depression screen's answers in a failed INSERT, say).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **jsonio.ENGINE_JSON,
        "hide_parameters": True,
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }
    app.json = jsonio.JSONProvider(app)
    app.config.update(
        API_TITLE="hvcase",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
        RATELIMIT_STORAGE_URI=app.config.get("RATELIMIT_STORAGE_URL")
        or app.config.get("REDIS_URL")
        or "memory://",
        RATELIMIT_STRATEGY="moving-window",
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        PERMANENT_SESSION_LIFETIME=app.config["SESSION_LIFETIME_HOURS"] * 3600,
    )
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("hvcase").setLevel(app.config["LOG_LEVEL"])
    # The client address is the connection's unless the deployment says how many proxies in
    # front of it to trust (none by default): a trusted X-Forwarded-For names the client.
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]


def database_url(url: str) -> str:
    """Accept ``postgresql://`` (and ``postgres://``) and drive it with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def register_extensions(app: Flask) -> None:
    from hvcase import models  # noqa: F401 (the whole schema, for Alembic)
    from hvcase.common import database
    from hvcase.common.celery_app import celery_init_app
    from hvcase.extensions import api, db, limiter, migrate

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent.parent / "migrations"),
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    limiter.init_app(app)
    api.init_app(app)
    celery_init_app(app)


def register_request_lifecycle(app: Flask) -> None:
    from hvcase.auth import guard
    from hvcase.common import errors, transaction

    guard.init_app(app)
    transaction.init_app(app)
    errors.init_app(app)


def register_contributions(app: Flask) -> None:
    """A later domain extends an earlier one through its registries (families' attention
    reasons and a family's details) instead of being imported by it (STYLE habit 16).
    Importing each domain's contributions module registers them, here, whatever was imported
    first: every request and task runs in an app create_app made, so none misses one. A new
    domain that contributes adds its module to this list.

    So do the kinds each domain writes through the shared write pipeline
    (hvcase/common/records.py): registered, a kind is synced and gets the registry's contract
    tests."""
    from hvcase.families import records as family_kinds  # noqa: F401 (registers on import)
    from hvcase.screenings import contributions as screenings  # noqa: F401 (registers on import)
    from hvcase.screenings import records as screening_kinds  # noqa: F401 (registers on import)
    from hvcase.visits import contributions as visits  # noqa: F401 (registers on import)
    from hvcase.visits import records as visit_kinds  # noqa: F401 (registers on import)


def load_rules(app: Flask) -> None:
    """The rules that are data (DESIGN.md), loaded and checked at start-up: a bad file stops
    the app, naming the file and the field."""
    from hvcase.screenings import catalog

    catalog.init_app(app)


def register_blueprints(app: Flask) -> None:
    from hvcase.audit.routes import blp as audit
    from hvcase.auth.routes import blp as auth
    from hvcase.common.docs import blp as docs_assets
    from hvcase.extensions import api
    from hvcase.families.routes import blp as families
    from hvcase.health.routes import blp as health
    from hvcase.organisations.routes import blp as agencies
    from hvcase.screenings.routes import blp as screenings
    from hvcase.sync.routes import blp as sync
    from hvcase.visits.routes import blp as visits

    for blueprint in (health, auth, agencies, families, visits, screenings, sync, audit):
        api.register_blueprint(blueprint)
    app.register_blueprint(docs_assets)


def register_commands(app: Flask) -> None:
    from hvcase import cli

    cli.init_app(app)
