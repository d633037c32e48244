"""A small threaded HTTP server to build provider fakes on.

Each fake (tests/fakes/<provider>.py) subclasses FakeProvider, registers routes and keeps
its state (OAuth clients, codes, tokens with expiry and rotation, data, subscriptions) in
plain Python objects guarded by one lock. Tests point the provider's settings at
`fake.base_url` (see `settings_for`) and inspect `fake.calls`; `fail_next` injects faults
(429 with headers, 5xx, a hang longer than the client's timeout, malformed bodies).
"""

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self):
        return json.loads(self.body or b"null")

    @property
    def bearer(self) -> str:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body).encode(), "application/json"
        if isinstance(self.body, str):
            return self.body.encode(), "text/html; charset=utf-8"
        return self.body, "application/octet-stream"


Handler = Callable[[FakeRequest], FakeResponse]


@dataclass
class Fault:
    response: FakeResponse
    times: int
    match: str  # path prefix ("" = any)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that went away (a killed worker, a timeout) is expected here.
        error = sys.exc_info()[1]
        if not isinstance(error, (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class FakeProvider:
    """Start with `with FakeX() as fake:` (or start()/stop()); routes via `route()`."""

    def __init__(self):
        self.lock = threading.RLock()
        self.routes: dict[tuple[str, str], Handler] = {}
        self.prefix_routes: list[tuple[str, str, Handler]] = []
        self.calls: list[FakeRequest] = []
        self.faults: list[Fault] = []
        self.clock: Callable[[], float] = time.time  # tests may replace it
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- routing ---------------------------------------------------------------------------
    def route(self, method: str, path: str, handler: Handler) -> None:
        """Exact path; a path ending in '/*' matches any sub-path (prefix route)."""
        if path.endswith("/*"):
            self.prefix_routes.append((method, path[:-1], handler))
        else:
            self.routes[(method, path)] = handler

    def fail_next(self, response: FakeResponse, times: int = 1, match: str = "") -> None:
        """Answer the next `times` requests whose path starts with `match` with `response`."""
        with self.lock:
            self.faults.append(Fault(response, times, match))

    def calls_to(self, path_prefix: str, method: str | None = None) -> list[FakeRequest]:
        with self.lock:
            return [
                c
                for c in self.calls
                if c.path.startswith(path_prefix) and (method is None or c.method == method)
            ]

    def dispatch(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            self.calls.append(request)
            for fault in self.faults:
                if fault.times > 0 and request.path.startswith(fault.match):
                    fault.times -= 1
                    return fault.response
            handler = self.routes.get((request.method, request.path))
            if handler is None:
                for method, prefix, candidate in self.prefix_routes:
                    if method == request.method and request.path.startswith(prefix):
                        handler = candidate
                        break
        if handler is None:
            return FakeResponse(404, {"error": "not_found", "path": request.path})
        return handler(request)

    # --- server ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeProvider":
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = FakeRequest(
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                response = fake.dispatch(request)
                if response.delay:
                    time.sleep(response.delay)
                payload, content_type = response.encoded()
                self.send_response(response.status)
                headers = {"Content-Type": content_type, **response.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = _QuietServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
