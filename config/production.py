"""Production: PostgreSQL and Redis expected; the development secret key is refused, and
no proxy is trusted unless HVCASE_PROXY_COUNT says how many stand in front (base.py)."""

from config.base import *  # noqa: F403

SECRET_KEY = ""  # must come from HVCASE_SECRET_KEY (at least 32 characters)
LOG_LEVEL = "INFO"
