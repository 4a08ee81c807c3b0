"""A 50 MB body and a gzip bomb: memory stays flat while reading (tracemalloc peak)."""

import functools
import gzip
import tracemalloc
from collections.abc import Iterator

import pytest

from generic_api_call import http_call, limits
from generic_api_call.request import Request as RenderedRequest
from tests.servers import QuietHandler, serving

FIFTY_MB = 50 * 1024 * 1024
CHUNK = b"x" * (1024 * 1024)


@functools.cache
def bomb() -> bytes:
    """~50 KB that inflates to 50 MB (made when first served, not when each xdist worker collects)."""
    return gzip.compress(b"A" * FIFTY_MB, compresslevel=9)


class Handler(QuietHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if self.path == "/bomb":
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb())))
            self.end_headers()
            self.wfile.write(bomb())
            return
        self.send_header("Content-Length", str(FIFTY_MB))
        self.end_headers()
        try:
            for _ in range(FIFTY_MB // len(CHUNK)):
                self.wfile.write(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading at its cap, as it should


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    bomb()  # made before any test traces its memory
    with serving(Handler) as url:
        yield url


@pytest.mark.parametrize("path", ["/big", "/bomb"])
def test_memory_stays_flat(server, path):
    policy = http_call.CallPolicy(timeout_seconds=20, allow=None)
    tracemalloc.start()
    try:
        result = http_call.send(RenderedRequest(method="GET", url=f"{server}{path}"), policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result["truncated"] is True
    assert len(result["body"]) == limits.MAX_BODY_BYTES
    print(f"{path}: peak {peak / 1e6:.1f} MB while reading a 50 MB body")
    assert peak < 8 * 1024 * 1024
