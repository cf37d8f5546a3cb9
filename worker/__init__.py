"""The Celery app, bound to the Flask app factory.

    celery -A worker worker --loglevel INFO    # a worker
    celery -A worker beat --loglevel INFO      # exactly one beat per deployment

Tasks run inside a Flask app context and take ids, never ORM objects.
"""

from hvcase import create_app
from worker.schedule import BEAT_SCHEDULE

flask_app = create_app()
celery = flask_app.extensions["celery"]
celery.conf.beat_schedule = BEAT_SCHEDULE
app = celery
