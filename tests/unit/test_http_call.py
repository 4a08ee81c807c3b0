"""Sending: error mapping and response shaping, against real local sockets."""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generic_api_call import http_call
from generic_api_call.errors import UpstreamConnectionError, UpstreamTimeout, UpstreamUnavailable
from generic_api_call.render import RenderedRequest


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, content_type, body = {
            "/json": (200, "application/json", json.dumps({"ok": True}).encode()),
            "/text": (200, "text/html; charset=utf-8", "<p>héllo</p>".encode()),
            "/badjson": (200, "application/json", b"{not json"),
            "/big": (200, "text/plain", b"x" * (http_call.MAX_BODY_BYTES + 10)),
            "/503": (503, "text/plain", b"busy"),
            "/500": (500, "text/plain", b"boom"),
        }[self.path.split("?")[0]]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def get(url: str, method: str = "GET") -> RenderedRequest:
    return RenderedRequest(method=method, url=url)


def test_json_body_is_decoded(server):
    result = http_call.send(get(f"{server}/json"), 5)
    assert result["statusCode"] == 200 and result["body"] == {"ok": True}
    assert set(result) == {"statusCode", "headers", "body", "elapsedMs"}
    assert isinstance(result["elapsedMs"], int)


def test_text_body_stays_text(server):
    result = http_call.send(get(f"{server}/text"), 5)
    assert result["body"] == "<p>héllo</p>"
    assert result["headers"]["Content-Type"].startswith("text/html")


def test_invalid_json_is_returned_as_text(server):
    assert http_call.send(get(f"{server}/badjson"), 5)["body"] == "{not json"


def test_large_body_is_truncated(server):
    result = http_call.send(get(f"{server}/big"), 5)
    assert len(result["body"]) == http_call.MAX_BODY_BYTES and result["truncated"] is True


def test_retryable_status_raises_for_idempotent_methods(server):
    with pytest.raises(UpstreamUnavailable) as raised:
        http_call.send(get(f"{server}/503"), 5)
    assert raised.value.status_code == 503


def test_retryable_status_is_returned_for_post(server):
    assert http_call.send(get(f"{server}/503", "POST"), 5)["statusCode"] == 503


def test_server_error_is_a_result_not_an_exception(server):
    assert http_call.send(get(f"{server}/500"), 5)["statusCode"] == 500


def test_refused_connection():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(UpstreamConnectionError):
            http_call.send(get(f"http://127.0.0.1:{port}/"), 2)


def test_silent_server_times_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts (kernel backlog) but never answers
        with pytest.raises(UpstreamTimeout, match=r"timed out after 0\.5s"):
            http_call.send(get(f"http://127.0.0.1:{sock.getsockname()[1]}/?secret=1"), 0.5)


def test_error_messages_leave_out_the_query():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        with pytest.raises(UpstreamTimeout) as raised:
            http_call.send(get(f"http://127.0.0.1:{sock.getsockname()[1]}/p?token=s3cret"), 0.3)
    assert "s3cret" not in str(raised.value)
