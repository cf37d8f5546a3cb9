"""Production: PostgreSQL and Redis expected; the development secret key is refused."""

from config.base import *  # noqa: F403

SECRET_KEY = ""  # must come from HVCASE_SECRET_KEY
PROXY_COUNT = 1
LOG_LEVEL = "INFO"
