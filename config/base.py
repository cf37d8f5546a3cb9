"""Settings shared by every environment; the environment modules import and adjust them."""

from datetime import timedelta

# Where the data lives. None: a SQLite file in the instance folder.
DATABASE_URL: str | None = None
# On SQLite, how many milliseconds a writer waits for its turn before the answer is a 503.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Celery broker and result backend. None: tasks run in-process (no worker needed).
REDIS_URL: str | None = None
# Flask-Limiter storage; defaults to REDIS_URL when that is set, else process memory.
RATELIMIT_STORAGE_URL: str | None = None
# Passed to the Redis client of that storage. redis-py waits 5 s by default: a hung Redis would
# hold every sign-in that long, where a short wait lets the limiter fall back to memory at once.
RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3}

SECRET_KEY = "dev-only-insecure-secret-key-change-me"

# Bodies above 2 MiB are refused with 413 (API.md).
MAX_CONTENT_LENGTH = 2 * 1024 * 1024

# Sessions and tokens.
SESSION_LIFETIME_HOURS = 12
TOKEN_LIFETIME_DAYS = 30
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "hvcase_session"
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

# Failed-login throttling (API.md): per account and per client address.
LOGIN_FAILURES_PER_ACCOUNT = "10 per 15 minutes"
LOGIN_FAILURES_PER_ADDRESS = "100 per 15 minutes"

# argon2id cost: "owasp" (production), "cheapest" (tests only).
PASSWORD_HASH_PROFILE = "owasp"

# Idempotency-Key responses are kept at least this long.
IDEMPOTENCY_TTL_HOURS = 48

# Number of reverse proxies in front of the app whose X-Forwarded-For is trusted: none by
# default, in every environment (a client could otherwise forge its address, and with it escape
# the per-address login limit). The deployment says how many stand in front of it.
PROXY_COUNT = 0

LOG_LEVEL = "INFO"

# Screening instruments (docs/instruments.md): a folder of instrument files added to the ones
# shipped, and the agency's licensed ASQ cutoffs file. None: no extra instruments; the shipped
# example cutoffs, which are NOT the licensed values (the app warns while they are in use).
INSTRUMENTS_DIR: str | None = None
ASQ_CUTOFFS_FILE: str | None = None

# A serving process's young-generation garbage-collection threshold (hvcase/serving.py);
# 0 keeps Python's default (700).
GC_THRESHOLD = 50_000
