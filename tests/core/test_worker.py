"""A real Celery worker process, on the real Redis broker and the test database."""

import json
from pathlib import Path

import pytest

from core.models import WorkerHeartbeat
from healthhub.celery import app as celery_app
from tests.workers import start_worker, stop_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker_log(django_db_setup, tmp_path_factory) -> Path:
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    process = start_worker(log_path)
    try:
        yield log_path
    finally:
        stop_worker(process)


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
