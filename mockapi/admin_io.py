"""Reading admin request bodies within a limit, and admin error answers: shared by every admin module."""

import json
from typing import Any

from aiohttp import web

ADMIN_PREFIX = "/__admin"  # every admin route lives under it (WireMock's)


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or None once it is known to be longer than `limit` (declared or as sent)."""
    if request.content_length is not None and request.content_length > limit:
        return None  # refused before reading: aiohttp closes the connection on the unread rest
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > limit:  # a chunked upload declares no length: stop as soon as it is too big
            return None
    return bytes(body)


async def read_json(request: web.Request, limit: int, limit_name: str, *, empty: Any = None) -> Any:
    """The JSON body (`empty` when there is none); BodyError(413/400) naming the limit or the problem."""
    body = await read_at_most(request, limit)
    if body is None:
        raise BodyError(413, f"body is larger than {limit} bytes ({limit_name})")
    if not body.strip():
        return empty
    try:
        return json.loads(body)
    except ValueError as exc:  # JSONDecodeError, or a body that is not UTF-8
        raise BodyError(400, f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # the parser recurses once per nesting level
        raise BodyError(400, "request body is not valid JSON: nested too deeply") from exc
