"""The beat schedule. Future work lives in database rows that beat polls for, never in Celery
ETA tasks (those are lost or repeated around restarts and the visibility timeout)."""

BEAT_SCHEDULE: dict[str, dict] = {
    "health-ping": {"task": "hvcase.health.ping", "schedule": 300.0},
}
