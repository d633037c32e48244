"""Real Celery worker processes for tests, on the real broker and the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection


def start_worker(log_path: Path, **env) -> subprocess.Popen:
    db = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "LOG_FORMAT": "json",
        **env,
    }
    with log_path.open("a") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "healthhub",
                "worker",
                "--concurrency",
                "1",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
                "--loglevel",
                "INFO",
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(Path.cwd()),
            start_new_session=True,  # its own process group: killable with its children
        )


def stop_worker(process: subprocess.Popen, *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {predicate.__name__}")
