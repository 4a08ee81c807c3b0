"""A bounded snapshot of an incoming request, shared by echo responses and the journal."""

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class CapturedRequest:
    method: str
    path: str  # percent-decoded
    raw_path: str  # as sent on the wire, still percent-encoded; stubs match on this
    raw_query: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str  # decoded as UTF-8 (invalid bytes replaced), cut at the capture limit
    json: Any  # the parsed body, or None if it is empty, truncated or not JSON
    body_size: int  # bytes actually received, which may exceed len(body)
    body_truncated: bool

    def to_echo(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "rawPath": self.raw_path,
            "query": self.query,
            "rawQuery": self.raw_query,
            "headers": self.headers,
            "body": self.body,
            "json": self.json,
        }


async def capture(request: web.BaseRequest, body_limit: int) -> CapturedRequest:
    """Read the whole body (so the client is never left mid-upload) but keep only `body_limit`."""
    kept = bytearray()
    size = 0
    # request.read() would buffer everything (or reject big uploads with 413); streaming lets a
    # test send an oversized upload and still get its stubbed answer while memory stays bounded.
    while chunk := await request.content.read(_READ_CHUNK):
        size += len(chunk)
        room = body_limit - len(kept)
        if room > 0:
            kept += chunk[:room]
    truncated = size > len(kept)

    parsed: Any = None
    if kept.strip() and not truncated:
        try:
            parsed = json.loads(kept)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError: the body just isn't JSON
            parsed = None

    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        # Repeated headers are folded the way RFC 9110 allows, so none is lost from the snapshot.
        headers[name] = f"{headers[name]}, {value}" if name in headers else value

    query = request.rel_url.query
    return CapturedRequest(
        method=request.method,
        path=request.path,
        raw_path=request.raw_path.split("?", 1)[0],
        raw_query=request.rel_url.raw_query_string,
        query={key: query.getall(key) for key in query},
        headers=headers,
        body=kept.decode("utf-8", errors="replace"),
        json=parsed,
        body_size=size,
        body_truncated=truncated,
    )
