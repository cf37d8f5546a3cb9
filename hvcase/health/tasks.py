"""The health ping: proves a worker is consuming and can reach the database."""

from celery import shared_task
from sqlalchemy import text

from hvcase.extensions import db


@shared_task(name="hvcase.health.ping")
def ping() -> str:
    db.session.execute(text("SELECT 1"))
    return "pong"
