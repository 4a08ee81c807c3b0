"""Forward one request to the recording's target and bring back its answer, as an Exchange.

Never follows a redirect (a 3xx is recorded and returned as is), so the proxy cannot be walked
off the target; hop-by-hop headers are dropped both ways; bodies are read whole up to a limit.
http.client in a worker thread, not aiohttp's client: aiohttp sends header values as UTF-8 (and
drops what it cannot encode), while a header's bytes must reach the target exactly as the Lambda
sent them (latin-1 text here, as http.client writes it back).
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import time
import zlib
from datetime import UTC, datetime
from urllib.parse import urlsplit

from mockapi.exchange import Exchange, Headers
from mockapi.limits import PROXY_RESPONSE_MAX_BYTES, PROXY_TIMEOUT_S

# RFC 9110 7.6.1 hop-by-hop, plus what the client library sets itself (Host, framing, encoding).
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                            "upgrade", "host", "content-length", "accept-encoding"})
_NOT_RETURNED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})


class ProxyError(Exception):
    """The target could not be reached, or answered more than the proxy keeps."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _decoded(body: bytes, encoding: str) -> bytes:
    """The target may compress though we asked for nothing: keep the bytes the client would read."""
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def _send(target: str, method: str, url: str, headers: Headers, body: bytes) -> tuple[int, str, Headers, bytes]:
    parts = urlsplit(target)
    base_path = parts.path.rstrip("/")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl  # here: a mock API that never records https starts without it (as aiohttp does)

        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=PROXY_TIMEOUT_S,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=PROXY_TIMEOUT_S)
    try:
        connection.putrequest(method, base_path + url, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        reply = connection.getresponse()
        content = reply.read(PROXY_RESPONSE_MAX_BYTES + 1)
        if len(content) > PROXY_RESPONSE_MAX_BYTES:
            raise ProxyError(f"{target} answered more than {PROXY_RESPONSE_MAX_BYTES} bytes "
                             "(PROXY_RESPONSE_MAX_BYTES); a recording keeps whole bodies only")
        content = _decoded(content, (reply.getheader("Content-Encoding") or "").strip().lower())
        returned = tuple((k, v) for k, v in reply.getheaders() if k.lower() not in _NOT_RETURNED)
        return reply.status, reply.reason, returned, content
    except (OSError, http.client.HTTPException, zlib.error, EOFError) as exc:
        raise ProxyError(f"{target} could not be reached: {type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()


async def forward(target: str, method: str, url: str, headers: Headers, body: bytes, body_text: str) -> Exchange:
    """`headers` as latin-1 text of their bytes; `url` the path and query as sent."""
    sent = tuple((name, value) for name, value in headers if name.lower() not in _NOT_FORWARDED)
    started, clock = _now(), time.monotonic()
    status, reason, returned, content = await asyncio.to_thread(_send, target, method.upper(), url, sent, body)
    return Exchange(target=target, method=method.upper(), url=url, request_headers=sent, request_body=body_text,
                    status=status, response_headers=returned, response_body=content, started=started,
                    elapsed_ms=(time.monotonic() - clock) * 1000, status_text=reason or "")
