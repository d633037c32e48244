"""Uploading a ~1 GB export.xml to the real web app: gunicorn started from the Procfile's
`web` line in its own process (one worker, so the worker that takes the upload is the one
warmed up), a personal access token, `POST /api/v1/imports/` with a multipart body that
the client streams from a generator (neither side ever holds the file), and the resident
memory of gunicorn's master and workers (VmRSS from /proc) sampled during the upload.

Figure:
- upload_rss_growth_mb: peak RSS of the web processes while the upload streams in,
  minus their RSS just before it (after a warm-up request through the same view).

The web process gets a temporary DATA_DIR (uploads, its embedded broker and cache) and
TMPDIR, all removed at the end, and the bench database; the job it queues is deleted.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from _setup import ROOT, report, setup_django

setup_django()

from accounts.models import User  # noqa: E402
from accounts.services import access_token_create  # noqa: E402
from imports.models import ImportJob  # noqa: E402

EMAIL = "bench-upload@example.org"
SIZE = int(os.environ.get("UPLOAD_BENCH_MB", 1024)) * 2**20

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<!DOCTYPE HealthData [\n<!ELEMENT HealthData (ExportDate,Me,(Record)*)>\n]>\n"
    b'<HealthData locale="en_US">\n <ExportDate value="2024-03-31 21:00:00 -0700"/>\n'
    b' <Me HKCharacteristicTypeIdentifierDateOfBirth=""/>\n'
)
TAIL = b"</HealthData>\n"
# One day of heart rate, a reading a minute; DAY is replaced by the day (fixed width).
DAY_BLOCK = b"".join(
    b' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" '
    b'sourceVersion="10.3" unit="count/min" creationDate="DAY %02d:%02d:09 -0700" '
    b'startDate="DAY %02d:%02d:00 -0700" endDate="DAY %02d:%02d:00 -0700" value="%d"/>\n'
    % (h, m, h, m, h, m, 55 + (h * 7 + m) % 40)
    for h in range(24)
    for m in range(60)
)
DAY_BYTES = len(DAY_BLOCK.replace(b"DAY", b"2024-01-01"))


def export_chunks(days: int):
    """A valid export.xml of `days` days of heart rate, a day (~400 KB) at a time."""
    yield HEAD
    first = date(2024, 3, 31) - timedelta(days=days - 1)
    for i in range(days):
        yield DAY_BLOCK.replace(b"DAY", (first + timedelta(days=i)).isoformat().encode())
    yield TAIL


def multipart(days: int) -> tuple[str, int, int, object]:
    """(content type, body length, file length, generator of the body): one file field."""
    boundary = uuid.uuid4().hex
    opening = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="export.xml"\r\n'
        "Content-Type: text/xml\r\n\r\n"
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()
    size = len(HEAD) + days * DAY_BYTES + len(TAIL)

    def body():
        yield opening
        yield from export_chunks(days)
        yield closing

    length = len(opening) + size + len(closing)
    return f"multipart/form-data; boundary={boundary}", length, size, body()


def tree_rss_kib(pid: int) -> int:
    """VmRSS of a process and all its descendants, in KiB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
    return total


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak, self.stop = 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss_kib(self.pid))
            time.sleep(self.every)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.partition(":")[2].strip()
    raise SystemExit("no web process in the Procfile")


def start_web(folder: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        # Uploads, the embedded broker (the queued job goes nowhere) and cache: all in
        # the temporary folder.
        "DATA_DIR": str(folder),
        "TMPDIR": str(folder),
        "REDIS_URL": "",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "API_THROTTLE_USER": "100000/hour",
        "LOG_LEVEL": "WARNING",
        # Its own control socket (gunicorn's default is one per user, in ~/.gunicorn).
        "GUNICORN_CMD_ARGS": f"--control-socket {folder / 'gunicorn.ctl'}",
    }
    web = subprocess.Popen(
        ["bash", "-c", f"exec {web_command()}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited: {web.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return web
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start listening")


def post(port: int, token: str, content_type: str, length: int, body) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.putrequest("POST", "/api/v1/imports/")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        for chunk in body:
            conn.send(chunk)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def main() -> None:
    user, _ = User.objects.get_or_create(email=EMAIL)
    ImportJob.objects.filter(user=user).delete()
    token = access_token_create(user=user, name="bench upload", scope="write").raw
    days = max(1, (SIZE - len(HEAD) - len(TAIL)) // DAY_BYTES)
    with tempfile.TemporaryDirectory(prefix="hh-bench-upload-") as name:
        folder = Path(name)
        port = free_port()
        web = start_web(folder, port)
        try:
            # Warm-up through the same view and upload path (a refused tiny file), so
            # what the worker imports lazily is in the baseline.
            warm = b"not an export"
            boundary = "warmup"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="x.txt"\r\n\r\n'
                ).encode()
                + warm
                + f"\r\n--{boundary}--\r\n".encode()
            )
            status, _ = post(
                port, token, f"multipart/form-data; boundary={boundary}", len(body), [body]
            )
            assert status == 400, status
            time.sleep(0.5)
            baseline = tree_rss_kib(web.pid)
            content_type, length, size, body = multipart(days)
            sampler = Sampler(web.pid)
            sampler.start()
            began = time.perf_counter()
            status, payload = post(port, token, content_type, length, body)
            elapsed = time.perf_counter() - began
            sampler.stop.set()
            sampler.join()
            assert status == 202, (status, payload)
            stored = ImportJob.objects.get(id=payload["id"], user=user).size_bytes
            assert stored == size, (stored, size)  # the whole file arrived
            print(
                f"uploaded {length / 2**20:,.0f} MiB in {elapsed:.1f}s "
                f"({length / 2**20 / elapsed:,.0f} MiB/s); stored {stored / 2**20:,.0f} MiB; "
                f"web RSS {baseline / 1024:.0f} MB before, {sampler.peak / 1024:.0f} MB peak",
                file=sys.stderr,
            )
            report("upload_rss_growth_mb", max(0, sampler.peak - baseline) / 1024, "MB")
        finally:
            os.killpg(web.pid, signal.SIGTERM)
            try:
                web.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(web.pid, signal.SIGKILL)
                web.wait()
            ImportJob.objects.filter(user=user).delete()
            user.access_tokens.all().delete()


if __name__ == "__main__":
    main()
