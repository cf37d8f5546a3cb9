"""Configuration for hvcase.

``HVCASE_ENV`` picks one of the modules beside this file (``development``, the default,
``testing`` or ``production``); then every ``HVCASE_<NAME>`` environment variable overrides the
setting ``<NAME>`` (``HVCASE_DATABASE_URL``, ``HVCASE_REDIS_URL``, ``HVCASE_SECRET_KEY``, ...).
docs/configuration.md lists them all.
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

ENVIRONMENTS = ("development", "testing", "production")
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


def load(env: str | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return the settings of ``env`` with the ``HVCASE_*`` overrides of ``environ`` applied."""
    environ = os.environ if environ is None else environ
    env = env or environ.get("HVCASE_ENV", "development")
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"HVCASE_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    module = importlib.import_module(f"config.{env}")
    settings = {name: getattr(module, name) for name in dir(module) if name.isupper()}
    settings["ENV_NAME"] = env
    for key, raw in environ.items():
        if key.startswith("HVCASE_") and key != "HVCASE_ENV":
            name = key.removeprefix("HVCASE_")
            settings[name] = _coerce(raw, settings.get(name))
    return settings


def _coerce(raw: str, current: Any) -> Any:
    """Read an environment string as the type of the setting it overrides."""
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, (dict, list)):
        return json.loads(raw)
    return raw
