"""Celery bound to the Flask app: every task runs inside an app context (Flask's pattern).

With ``REDIS_URL`` set, Redis is the broker and real workers do the work; without it, tasks run
in-process (``task_always_eager``), so one machine with no services runs the whole app.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

TASK_MODULES = ("hvcase.health.tasks",)


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    redis_url = app.config.get("REDIS_URL")
    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=redis_url or "memory://",
        result_backend=redis_url,
        task_always_eager=redis_url is None,
        task_eager_propagates=True,
        task_ignore_result=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_enable_soft_shutdown_on_idle=True,
        worker_soft_shutdown_timeout=30,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        result_expires=3600,
        timezone="UTC",
        enable_utc=True,
        imports=TASK_MODULES,
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
