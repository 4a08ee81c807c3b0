"""Small real HTTP servers for the in-process tests of the Lambda: one place for the reply code.

Each test file describes only what its server answers (a `QuietHandler` subclass); starting,
stopping and writing a whole reply live here.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing and writes a whole reply in one call."""

    def reply(self, status: int, headers: dict[str, str] | None = None, payload: bytes = b"") -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is what many tests make the Lambda do (its deadline):
        # not worth a traceback in the test output. Anything else still prints one.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """A started server on a free local port, and its base URL; `shutdown()` it when done."""
    httpd = _Server(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`serve` for a `with` block or a fixture: the base URL, the server stopped afterwards."""
    httpd, url = serve(handler)
    try:
        yield url
    finally:
        httpd.shutdown()
        httpd.server_close()


# What the red-team upstream received (tests/unit/test_handler_attacks.py, test_redteam.py).
RECEIVED: list[dict[str, Any]] = []


class Upstream(QuietHandler):
    """The red team's upstream: answers chosen by path, each request recorded in RECEIVED."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        body = self.read_body()
        RECEIVED.append({"port": self.server.server_address[1], "path": url.path, "method": self.command,
                         "headers": dict(self.headers), "body": body})
        pad = int(query.get("n", "0"))
        token = self.headers.get("X-Token", "")
        status, headers, payload = 200, {"Content-Type": "text/plain; charset=utf-8"}, b"ok"
        if url.path == "/pad-body":
            payload = ("x" * pad + token + "y" * 100).encode()
        elif url.path == "/pad-header":
            headers["X-Echo"] = "x" * pad + token + "y" * 100
        elif url.path == "/echo-body":
            payload = body
        elif url.path == "/ctype":
            headers["Content-Type"] = "application/json; x=" + "é" * 30_000
            payload = b'{"a": 1}'
        elif url.path == "/charset":
            headers["Content-Type"] = f"text/plain; charset={query['cs']}"
            payload = b"hello"
        elif url.path == "/deep":
            headers["Content-Type"] = "application/json"
            payload = b"[" * 5000 + b"]" * 5000
        elif url.path == "/retry-after":
            status, headers["Retry-After"] = 503, "²"
        elif url.path == "/redirect":
            status, headers["Location"] = int(query["code"]), query["to"]
        self.reply(status, headers, payload)

    do_GET = do_POST = _answer


class LambdaContext:
    """The part of Lambda's context object the handler uses."""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def stop_process(process: Any, timeout: float = 10) -> None:
    """Stop a server process the tests started: SIGTERM, then SIGKILL if it has not ended in `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
