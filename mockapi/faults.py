"""Misbehaving responses, each done for real on the socket so clients meet the genuine failure."""

import asyncio
import socket
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from aiohttp import web

from mockapi.stubs import ResponseSpec

_OVERSIZED_CHUNK = b"x" * (64 * 1024)
_BOMB_FILL = b"0" * (1024 * 1024)
# A body that starts out as JSON and stops mid-string, like a response cut off by a proxy.
_INVALID_JSON = b'{"id": 42, "name": "truncat'
# How often no_response checks whether the client has hung up.
_DISCONNECT_POLL_S = 0.2
# Gzip bombs are compressed on their own thread, one at a time (~8 s of CPU per GiB): in the
# default executor, six concurrent 512 MiB bombs held every worker, and every request's stub
# matching (app.py, also a thread) waited 11 s behind them.
_BOMB_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gzip-bomb")


async def serve_fault(
    request: web.BaseRequest,
    spec: ResponseSpec,
    status: int,
    body: bytes,
    body_type: str | None,
) -> web.StreamResponse:
    """Answer (or fail to answer) per `spec.fault`.

    `body` and `body_type` are what a normal reply would send; only slow_drip uses them,
    the other faults make up their own body.
    """
    match spec.fault:
        case "connection_reset":
            return _connection_reset(request)
        case "slow_drip":
            headers = spec.headers_with_type(body_type)
            return await _slow_drip(request, spec, status, headers, body)
        case "oversized":
            assert spec.size_bytes is not None  # guaranteed by stub validation
            headers = spec.headers_with_type("application/octet-stream")
            return await _oversized(request, status, headers, spec.size_bytes)
        case "gzip_bomb":
            assert spec.size_bytes is not None
            headers = spec.headers_with_type("text/plain")
            return await _gzip_bomb(status, headers, spec.size_bytes)
        case "invalid_json":
            headers = spec.headers_with_type("application/json")
            return web.Response(status=status, headers=headers, body=_INVALID_JSON)
        case "no_response":
            return await _no_response(request, status)
        case _:
            raise ValueError(f"unknown fault {spec.fault!r}")


def _connection_reset(request: web.BaseRequest) -> web.StreamResponse:
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger with a zero timeout makes the kernel send RST instead of a polite FIN,
            # which is what "connection reset by peer" looks like to the client.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp needs a response object; writing it to the dead transport fails with a
    # ConnectionError, which aiohttp treats as a client disconnect and drops quietly.
    return web.Response(status=500)


async def _slow_drip(
    request: web.BaseRequest,
    spec: ResponseSpec,
    status: int,
    headers: dict[str, str],
    body: bytes,
) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers=headers)
    # A correct Content-Length lets the client see the response is complete but merely slow.
    response.content_length = len(body)
    await response.prepare(request)
    try:
        for offset in range(0, len(body), spec.chunk_bytes):
            if offset:
                await asyncio.sleep(spec.drip_interval_ms / 1000)
            await response.write(body[offset : offset + spec.chunk_bytes])
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client gave up mid-drip, which is what this fault is meant to provoke
    return response


async def _oversized(request: web.BaseRequest, status: int, headers: dict[str, str], size: int) -> web.StreamResponse:
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = size
    await response.prepare(request)
    remaining = size
    try:
        while remaining:
            chunk = _OVERSIZED_CHUNK[: min(remaining, len(_OVERSIZED_CHUNK))]
            # write() waits for the socket buffer to drain, so memory stays at one chunk.
            await response.write(chunk)
            remaining -= len(chunk)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client stopped reading early, e.g. because it enforces a size limit
    return response


async def _gzip_bomb(status: int, headers: dict[str, str], size: int) -> web.Response:
    # Compressing hundreds of MiB takes a while; do it off the event loop and off the default
    # executor, so other requests (health checks and stub matching included) keep being served.
    compressed = await asyncio.get_running_loop().run_in_executor(_BOMB_EXECUTOR, _compressed_fill, size)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-encoding"}
    headers["Content-Encoding"] = "gzip"
    # aiohttp leaves bodies alone unless compression is enabled, so these bytes go out verbatim.
    return web.Response(status=status, headers=headers, body=compressed)


@lru_cache(maxsize=8)
def _compressed_fill(size: int) -> bytes:
    """`size` bytes of b"0", gzip-compressed incrementally (about 1/1000 of `size`)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: gzip framing
    parts: list[bytes] = []
    remaining = size
    while remaining:
        block = _BOMB_FILL[: min(remaining, len(_BOMB_FILL))]
        parts.append(compressor.compress(block))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


async def _no_response(request: web.BaseRequest, status: int) -> web.StreamResponse:
    # Poll rather than wait forever: aiohttp does not cancel handlers when the client leaves,
    # so an unconditional wait would leak one task per abandoned request.
    while (transport := request.transport) is not None and not transport.is_closing():
        await asyncio.sleep(_DISCONNECT_POLL_S)
    return web.Response(status=status)  # never delivered: the client is gone
