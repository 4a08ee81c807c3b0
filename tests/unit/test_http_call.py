"""Sending: error mapping and response shaping, against real local sockets."""

import json
import socket
import time
from collections.abc import Iterator

import pytest

from generic_api_call import http_call, limits
from generic_api_call.errors import UpstreamConnectionError, UpstreamThrottled, UpstreamTimeout, UpstreamUnavailable
from generic_api_call.request import Request as RenderedRequest
from generic_api_call.secrets import Secrets
from tests.servers import QuietHandler, serving


class Handler(QuietHandler):
    def do_GET(self) -> None:
        if self.path == "/drip":
            return self._drip()
        status, content_type, body = {
            "/json": (200, "application/json", json.dumps({"ok": True}).encode()),
            "/text": (200, "text/html; charset=utf-8", "<p>héllo</p>".encode()),
            "/badjson": (200, "application/json", b"{not json"),
            "/big": (200, "text/plain", b"x" * (limits.MAX_BODY_BYTES + 10)),
            "/503": (503, "text/plain", b"busy"),
            "/500": (500, "text/plain", b"boom"),
            "/429-soon": (429, "text/plain", b"slow down"),
            "/429-later": (429, "text/plain", b"slow down"),
        }[self.path.split("?")[0]]
        headers = {"Content-Type": content_type}
        retry_after = {"/429-soon": "0", "/429-later": "120"}.get(self.path)
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        self.reply(status, headers, body)

    def _drip(self) -> None:
        """50 bytes, one every 100 ms: each read is quick, the whole body is not."""
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "50")
        self.end_headers()
        try:
            for _ in range(50):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up at its deadline

    do_POST = do_GET


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serving(Handler) as url:
        yield url


def get(url: str, method: str = "GET") -> RenderedRequest:
    return RenderedRequest(method=method, url=url)


def send(request: RenderedRequest, timeout: float, **policy) -> dict:
    return http_call.send(request, http_call.CallPolicy(timeout_seconds=timeout, allow=None, **policy))


def test_json_body_is_decoded(server):
    result = send(get(f"{server}/json"), 5)
    assert result["statusCode"] == 200 and result["body"] == {"ok": True}
    assert set(result) == {"statusCode", "headers", "body", "contentType", "elapsedMs"}
    assert isinstance(result["elapsedMs"], int)


def test_text_body_stays_text(server):
    result = send(get(f"{server}/text"), 5)
    assert result["body"] == "<p>héllo</p>"
    assert result["headers"]["Content-Type"].startswith("text/html")


def test_invalid_json_is_returned_as_text(server):
    assert send(get(f"{server}/badjson"), 5)["body"] == "{not json"


def test_large_body_is_truncated(server):
    result = send(get(f"{server}/big"), 5)
    assert len(result["body"]) == limits.MAX_BODY_BYTES and result["truncated"] is True


def test_retryable_status_raises_for_idempotent_methods(server):
    with pytest.raises(UpstreamUnavailable) as raised:
        send(get(f"{server}/503"), 5)
    assert raised.value.status_code == 503


def test_retryable_status_is_returned_for_post(server):
    assert send(get(f"{server}/503", "POST"), 5)["statusCode"] == 503


def test_server_error_is_a_result_not_an_exception(server):
    assert send(get(f"{server}/500"), 5)["statusCode"] == 500


def test_refused_connection():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(UpstreamConnectionError):
            send(get(f"http://127.0.0.1:{port}/"), 2)


def test_silent_server_times_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)  # accepts (kernel backlog) but never answers
        with pytest.raises(UpstreamTimeout, match=r"timed out \(deadline 0\.5s\)"):
            send(get(f"http://127.0.0.1:{sock.getsockname()[1]}/?secret=1"), 0.5)


def test_error_messages_leave_out_the_query():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        with pytest.raises(UpstreamTimeout) as raised:
            send(get(f"http://127.0.0.1:{sock.getsockname()[1]}/p?token=s3cret"), 0.3)
    assert "s3cret" not in str(raised.value)


def test_post_marked_idempotent_is_retryable(server):
    with pytest.raises(UpstreamUnavailable):
        send(get(f"{server}/503", "POST"), 5, idempotent=True)


def test_retry_after_within_the_deadline_is_honoured(server):
    with pytest.raises(UpstreamUnavailable):
        send(get(f"{server}/429-soon"), 5)


def test_retry_after_beyond_the_deadline_is_not_retried(server):
    with pytest.raises(UpstreamThrottled, match="beyond the deadline"):
        send(get(f"{server}/429-later"), 5)


@pytest.mark.parametrize(("value", "expected"), [
    ("3", 3.0), (" 0 ", 0.0), ("soon", None), ("", None), (None, None),
    ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
])
def test_retry_after_parsing(value, expected):
    now = 1445412480.0  # 2015-10-21 07:28:00 GMT
    assert http_call.retry_after_seconds(value, now=now) == expected


def test_result_is_cut_to_fit_step_functions():
    body = '"' * (150 * 1024)  # JSON escaping doubles it
    result = limits.fit_result(
        {"statusCode": 200, "headers": {}, "body": body, "contentType": "", "elapsedMs": 1}, Secrets.none())
    assert result["truncated"] is True
    assert len(json.dumps(result)) <= limits.MAX_RESULT_CHARS


def test_slow_drip_stops_at_the_total_deadline(server):
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        send(get(f"{server}/drip"), 1)
    print(f"gave up after {time.monotonic() - started:.2f}s of a 5 s drip")
