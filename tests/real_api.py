"""A stand-in for "the real API" in its own process: `python -m tests.real_api [--host H] [--drift] [--api-key K]`.

Not the mock API: recordings are made through the mock's proxy against this server, then
replayed with it stopped. It prints `PORT <n>` once it listens (port 0: a free one) on --host
(127.0.0.1; for the docker stack, its network's gateway, `Stack.local_server_host()`).
--drift answers the same paths with another shape (what `testbed record --verify` must notice).

GET  /api/users/<id>      {"id", "name", "tags", "active"}  (drift: id a string, no tags, + email)
POST /api/orders          201 {"orderId", "received": <the JSON sent>}
GET  /api/counter         {"count": n}, n = 1, 2, 3... (repeats: a scenario)
GET  /api/secure          X-Api-Key must equal --api-key: {"ok": true, "echo": <the key>}, else 401
GET  /api/search?q=&token= {"q", "results"} (echoes q only)
GET  /api/redirect?to=URL 302 to URL (a redirect off the target)
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit

from testbed.config import LOCALHOST
from tests.servers import stop_process

STARTUP_DEADLINE_S = 15.0


class RealApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    drift = False
    api_key = ""
    counter = itertools.count(1)

    def _send(self, status: int, payload: Any = None, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def do_GET(self) -> None:
        url = _from_api(urlsplit(self.path))
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path.startswith("/api/users/"):
            user_id = url.path.rsplit("/", 1)[1]
            if self.drift:
                self._send(200, {"id": user_id, "name": "Ada", "active": True, "email": "ada@example.com"})
            else:
                self._send(200, {"id": int(user_id), "name": "Ada", "tags": ["admin"], "active": True})
        elif url.path == "/api/counter":
            self._send(200, {"count": next(self.counter)})
        elif url.path == "/api/secure":
            if self.headers.get("X-Api-Key") != self.api_key:
                self._send(401, {"error": "bad key"})
            else:
                self._send(200, {"ok": True, "echo": self.api_key}, {"Set-Cookie": f"session={self.api_key}"})
        elif url.path == "/api/search":
            self._send(200, {"q": query.get("q"), "results": [1, 2]})
        elif url.path == "/api/redirect":
            self._send(302, None, {"Location": query.get("to", "/")})
        else:
            self._send(404, {"error": "no such path"})

    def do_POST(self) -> None:
        if _from_api(urlsplit(self.path)).path == "/api/orders":
            self._send(201, {"orderId": "o-1", "received": self._body()})
        else:
            self._send(404, {"error": "no such path"})

    def log_message(self, *args: object) -> None:
        pass


def _from_api(url: SplitResult) -> SplitResult:
    """The path from its /api/ on: a test may put its own prefix before it (/rec-1a2b/api/users/7)."""
    start = url.path.find("/api/")
    return url._replace(path=url.path[start:]) if start > 0 else url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.real_api")
    parser.add_argument("--host", default=LOCALHOST)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--drift", action="store_true")
    parser.add_argument("--api-key", default="")
    args = parser.parse_args(argv)
    RealApi.drift, RealApi.api_key = args.drift, args.api_key
    server = ThreadingHTTPServer((args.host, args.port), RealApi)
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


@contextlib.contextmanager
def running(*args: str, host: str = LOCALHOST) -> Iterator[str]:
    """The real API in its own process for the block, listening on `host`: its base URL (stopped afterwards)."""
    process = subprocess.Popen([sys.executable, "-m", "tests.real_api", "--host", host, *args], stdout=subprocess.PIPE,
                               cwd=Path(__file__).resolve().parents[1], text=True)
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        ready, _, _ = select.select([process.stdout], [], [], STARTUP_DEADLINE_S)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("PORT ") or time.monotonic() > deadline:
            raise RuntimeError(f"the real API did not start (exit {process.poll()}, said {line!r})")
        yield f"http://{host}:{int(line.split()[1])}"
    finally:
        stop_process(process)


if __name__ == "__main__":
    sys.exit(main())
