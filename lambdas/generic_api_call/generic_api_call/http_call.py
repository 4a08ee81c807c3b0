"""Send a rendered request with `requests` and shape the response for Step Functions."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

from .errors import UpstreamConnectionError, UpstreamTimeout, UpstreamUnavailable
from .render import RenderedRequest

CONNECT_TIMEOUT_SECONDS = 3.05  # slightly above a multiple of 3 s, the TCP retransmit window
MAX_BODY_BYTES = 128 * 1024  # keeps the task result well under Step Functions' 256 KiB
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def send(request: RenderedRequest, timeout_seconds: float) -> dict[str, Any]:
    """Call the API once. Retrying is the state machine's job (one retry layer only)."""
    started = time.monotonic()
    deadline = started + timeout_seconds
    try:
        with requests.Session() as session:
            session.trust_env = False  # proxies or .netrc from the environment must not reroute calls
            response = session.request(
                request.method,
                request.url,
                params=request.query or None,
                headers=request.headers,
                json=request.json_body if request.has_json_body else None,
                data=request.text_body.encode() if request.text_body is not None else None,
                timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds),
                allow_redirects=False,  # a redirect is an answer, not a hop to follow blindly
                stream=True,
            )
            with response:
                raw, truncated = _read_capped(response, deadline)
    except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        raise UpstreamTimeout(f"{request.method} {_origin(request.url)} timed out after {timeout_seconds:g}s") from exc
    except requests.ConnectionError as exc:
        raise UpstreamConnectionError(f"{request.method} {_origin(request.url)}: {type(exc).__name__}") from exc
    except requests.RequestException as exc:
        raise UpstreamConnectionError(f"{request.method} {_origin(request.url)}: {exc}") from exc

    if response.status_code in RETRYABLE_STATUSES and request.method in IDEMPOTENT_METHODS:
        raise UpstreamUnavailable(
            f"{request.method} {_origin(request.url)} answered HTTP {response.status_code}",
            response.status_code,
        )
    result: dict[str, Any] = {
        "statusCode": response.status_code,
        "headers": dict(response.headers),
        "body": _decode_body(raw, response.headers.get("Content-Type", ""), response.encoding),
        "elapsedMs": round((time.monotonic() - started) * 1000),
    }
    if truncated:
        result["truncated"] = True
    return result


def _read_capped(response: requests.Response, deadline: float) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES (after decompression) and stop at the deadline."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16 * 1024):
        if time.monotonic() > deadline:
            raise requests.Timeout("body not received before the deadline")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


def _decode_body(raw: bytes, content_type: str, encoding: str | None) -> Any:
    text = raw.decode(encoding or "utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text  # a JSON content type with a body that does not parse: keep the text
    return text


def _origin(url: str) -> str:
    """Scheme, host and path only: the query may carry values that must not reach logs."""
    return url.split("?", 1)[0]
