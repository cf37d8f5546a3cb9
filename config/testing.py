"""Testing: cheap password hashing so the suite is fast; everything else as in production."""

from config.base import *  # noqa: F403

TESTING = True
SESSION_COOKIE_SECURE = False
PASSWORD_HASH_PROFILE = "cheapest"
SECRET_KEY = "testing-secret-key-not-for-production"
