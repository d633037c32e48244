"""A real Celery worker process, on the real Redis broker and the test database."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from core.models import WorkerHeartbeat
from healthhub.celery import app as celery_app

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__name__}")


@pytest.fixture(scope="module")
def worker_log(django_db_setup, tmp_path_factory) -> Path:
    db = connection.settings_dict
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "LOG_FORMAT": "json",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "healthhub",
                "worker",
                "--purge",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}@%h",
                "--loglevel",
                "INFO",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(Path.cwd()),
        )
    try:
        yield log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def real_broker():
    """Publish to Redis for the worker instead of running tasks inline."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


def json_lines(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # the console email body, Celery's banner
    return lines


def test_readyz_turns_ready_once_a_worker_beats(client, worker_log):
    def heartbeat():
        return WorkerHeartbeat.objects.exists()

    wait_for(heartbeat)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["worker"] == "ok"


def test_the_request_id_reaches_the_task_the_request_enqueued(
    client, user, worker_log, real_broker
):
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    request_id = response["X-Request-ID"]

    def task_line():
        return next(
            (
                line
                for line in json_lines(worker_log)
                if line.get("event") == "email_sent" and line.get("request_id") == request_id
            ),
            None,
        )

    line = wait_for(task_line)
    assert line["logger"] == "core.tasks"
    assert line["recipients"] == 1
    # The task's own start and finish lines carry the same id.
    events = {
        entry["event"] for entry in json_lines(worker_log) if entry.get("request_id") == request_id
    }
    assert {"task_started", "task_succeeded"} <= events
