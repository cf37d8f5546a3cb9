"""Tasks: in-process without a broker; through real Redis and a real worker process with one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hvcase import create_app
from hvcase.health.tasks import ping
from tests.conftest import REDIS_URL, need_service

ROOT = Path(__file__).resolve().parent.parent


def test_without_a_broker_tasks_run_in_process(app):
    celery = app.extensions["celery"]
    assert celery.conf.task_always_eager is True
    assert ping.delay().get(timeout=5) == "pong"


@pytest.fixture
def redis_url() -> str:
    need_service(REDIS_URL, "HVCASE_TEST_REDIS_URL is not set: no Redis to run a worker against")
    return REDIS_URL


def test_a_real_worker_answers_the_health_ping_through_redis(app, redis_url, tmp_path):
    database = "sqlite:///" + str(tmp_path / "worker.sqlite")
    env = {
        **os.environ,
        "HVCASE_ENV": "testing",
        "HVCASE_REDIS_URL": redis_url,
        "HVCASE_DATABASE_URL": database,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "worker",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    producer = create_app("testing", {"REDIS_URL": redis_url, "DATABASE_URL": database})
    celery = producer.extensions["celery"]
    try:
        assert celery.conf.task_always_eager is False
        result = celery.send_task("hvcase.health.ping")
        assert result.get(timeout=60) == "pong"
    finally:
        app.extensions["celery"].set_default()  # later tests run tasks in-process again
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        time.sleep(0)
