"""Benchmark: the mock API's overhead per replayed request (target: under 2 ms). Prints figures.

    .venv/bin/python benchmarks/bench_replay.py [--requests 2000] [--mappings 200]

Two servers in their own processes, each asked the same way (one keep-alive connection,
sequential requests, http.client): the floor, a bare aiohttp app answering a fixed JSON body,
and the mock API replaying a folder of recorded-style mappings (`--mappings` of them, each
matched by method, url and, for POSTs, equalToJson). Measured per request, median and p95:
- floor: what any aiohttp server costs;
- replay GET: the mapping tried last (the first file loaded: equal priorities, newest first);
- replay POST: an equalToJson body pattern;
- unmatched, strict: a request no mapping matches (the near-miss report is computed).
Overhead = replay median - floor median.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testbed.probes import free_port  # noqa: E402 - after the path setup above

FLOOR_APP = """
import sys
from aiohttp import web
async def answer(request):
    await request.read()
    return web.json_response({"id": 7, "name": "Ada", "tags": ["admin"], "active": True})
app = web.Application()
app.router.add_route("*", "/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def _mappings(folder: Path, count: int) -> None:
    (folder / "mappings").mkdir(parents=True)
    for index in range(count):
        post = index % 2 == 1
        request: dict[str, object] = {"method": "POST" if post else "GET", "url": f"/api/items/{index}"}
        if post:
            request["bodyPatterns"] = [{"equalToJson": {"items": [1, 2], "token": "${json-unit.any-string}"},
                                        "ignoreArrayOrder": True, "ignoreExtraElements": True}]
        mapping = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, str(index))), "name": f"items_{index}",
                   "request": request,
                   "response": {"status": 200, "jsonBody": {"id": index, "name": "Ada", "tags": ["admin"]},
                                "headers": {"Content-Type": "application/json"}}}
        (folder / "mappings" / f"items_{index}.json").write_text(json.dumps(mapping))


@contextlib.contextmanager
def _server(command: list[str], port: int) -> Iterator[None]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                connection.request("GET", "/__admin/health")
                connection.getresponse().read()
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{command[:3]} did not start")
            time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def _measure(port: int, method: str, path: str, body: bytes | None, count: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"} if body else {}
    samples = []
    for index in range(count + count // 10):  # the first tenth warms up
        started = time.perf_counter()
        connection.request(method, path, body=body, headers=headers)
        connection.getresponse().read()
        if index >= count // 10:
            samples.append((time.perf_counter() - started) * 1000)
    connection.close()
    return samples


def _line(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"  {name:<28} median {statistics.median(ordered):6.3f} ms   p95 {p95:6.3f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_replay", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--mappings", type=int, default=200)
    args = parser.parse_args(argv)
    body = json.dumps({"items": [2, 1], "token": "t-123", "extra": True}).encode()
    figures: dict[str, list[float]] = {}
    floor_port, mock_port = free_port(), free_port()
    with _server([sys.executable, "-c", FLOOR_APP, str(floor_port)], floor_port):
        figures["floor (bare aiohttp)"] = _measure(floor_port, "GET", "/api/items/1", None, args.requests)
    with tempfile.TemporaryDirectory() as folder:
        _mappings(Path(folder), args.mappings)
        command = [sys.executable, "-m", "mockapi", "--port", str(mock_port), "--mappings", folder, "--strict"]
        with _server(command, mock_port):
            runs: dict[str, Callable[[], list[float]]] = {
                "replay GET (tried last)": lambda: _measure(mock_port, "GET", "/api/items/0", None, args.requests),
                "replay POST (equalToJson)": lambda: _measure(mock_port, "POST", "/api/items/1", body, args.requests),
                "unmatched, strict (near miss)":
                    lambda: _measure(mock_port, "GET", "/api/nothing", None, max(args.requests // 10, 50)),
            }
            for name, run in runs.items():
                figures[name] = run()
    print(f"mock API replay, {args.mappings} mappings, {args.requests} sequential keep-alive requests each:")
    for name, samples in figures.items():
        print(_line(name, samples))
    floor = statistics.median(figures["floor (bare aiohttp)"])
    replay = statistics.median(next(v for k, v in figures.items() if k.startswith("replay GET")))
    print(f"  overhead per replayed request: {replay - floor:.3f} ms (median; target < 2 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
