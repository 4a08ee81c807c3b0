"""Forward one request to the recording's target and bring back its answer, as an Exchange.

Never follows a redirect (a 3xx is recorded and returned as is), so the proxy cannot be walked
off the target; hop-by-hop headers are dropped both ways; bodies are read whole up to a limit.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiohttp

from mockapi.capture import CapturedRequest
from mockapi.exchange import Exchange
from mockapi.limits import PROXY_RESPONSE_MAX_BYTES, PROXY_TIMEOUT_S

# RFC 9110 7.6.1 hop-by-hop, plus what the client library sets itself (Host, framing, encoding).
_NOT_FORWARDED = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                            "upgrade", "host", "content-length", "accept-encoding"})
_NOT_RETURNED = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})


class ProxyError(Exception):
    """The target could not be reached, or answered more than the proxy keeps."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def forward(session: aiohttp.ClientSession, target: str, captured: CapturedRequest, body: bytes) -> Exchange:
    url = f"{captured.raw_path}?{captured.raw_query}" if captured.raw_query else captured.raw_path
    headers = [(name, value) for name, value in captured.headers.items() if name.lower() not in _NOT_FORWARDED]
    started, clock = _now(), time.monotonic()
    timeout = aiohttp.ClientTimeout(total=PROXY_TIMEOUT_S)
    try:
        async with session.request(captured.method, target + url, headers=headers, data=body or None,
                                   allow_redirects=False, timeout=timeout) as reply:
            content = await reply.content.read(PROXY_RESPONSE_MAX_BYTES + 1)
            if len(content) > PROXY_RESPONSE_MAX_BYTES:
                raise ProxyError(f"{target} answered more than {PROXY_RESPONSE_MAX_BYTES} bytes "
                                 f"(PROXY_RESPONSE_MAX_BYTES); a recording keeps whole bodies only")
            returned = tuple((name, value) for name, value in reply.headers.items()
                             if name.lower() not in _NOT_RETURNED)
            return Exchange(target=target, method=captured.method.upper(), url=url,
                            request_headers=tuple(headers), request_body=captured.body, status=reply.status,
                            response_headers=returned, response_body=content, started=started,
                            elapsed_ms=(time.monotonic() - clock) * 1000, status_text=reply.reason or "")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ProxyError(f"{target} could not be reached: {type(exc).__name__}: {exc}") from exc
