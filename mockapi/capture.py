"""A bounded snapshot of an incoming request, shared by echo responses and the journal."""

import json
import sys
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from mockapi.limits import MAX_JSON_DEPTH

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
    json_bytes: int = 0  # about what `json` takes in memory (64 KiB of `[[]]`s parse to ~2 MiB)

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

    parsed, json_bytes = (parse_json_body(bytes(kept)) if kept.strip() and not truncated else (None, 0))

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
        json_bytes=json_bytes,
    )


def parse_json_body(body: bytes) -> tuple[Any, int]:
    """The body parsed and the bytes it takes; (None, 0) if it is not JSON or nests deeper than
    MAX_JSON_DEPTH: ~980 levels parse, then fail the echo's and the journal's json.dumps (500
    for every later GET /__admin/requests); ~1000 fail the parser itself."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested past the parser's recursion
        return None, 0
    size = json_size(parsed)
    return (None, 0) if size is None else (parsed, size)


def json_size(value: Any) -> int | None:
    """About the bytes parsed JSON takes (each object, list and string, and a reference to each),
    or None when it nests deeper than MAX_JSON_DEPTH. Walked without recursion."""
    total = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        total += sys.getsizeof(item) + 8  # 8: the reference its container holds
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return None
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return total
