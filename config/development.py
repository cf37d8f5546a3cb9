"""Development: the embedded SQLite database, tasks in-process, cookies over plain HTTP."""

from config.base import *  # noqa: F403

SESSION_COOKIE_SECURE = False
