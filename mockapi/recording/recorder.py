"""The recorder: while recording, requests the filters select are proxied to the target and kept, scrubbed.

Status as WireMock's: NeverStarted, Recording, Stopped. Only targets the mock API was started
with (`--record-target`, env MOCKAPI_RECORD_TARGETS) may be recorded: whoever reaches the admin
API must not be able to turn the mock into a proxy to anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from aiohttp import web
from multidict import CIMultiDict

from mockapi.capture import CapturedRequest
from mockapi.exchange import Exchange, Headers
from mockapi.har import har_log
from mockapi.journal import Journal
from mockapi.limits import MAX_RECORDED_EXCHANGES
from mockapi.recording.builder import build_mappings
from mockapi.recording.proxy import ProxyError, forward
from mockapi.recording.scrub import Scrubber
from mockapi.recording.spec import RecordSpec

_DEFAULT_PORTS = {"http": 80, "https": 443}


class RecordingError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _origin(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(parts.scheme, 0)
    return parts.scheme, (parts.hostname or "").lower(), str(port)


def target_allowed(target: str, allowed: Sequence[str]) -> bool:
    """`allowed` holds origins (scheme://host[:port]); `:*` allows any port of that host."""
    scheme, host, port = _origin(target)
    for entry in allowed:
        any_port = entry.endswith(":*")
        a_scheme, a_host, a_port = _origin(entry[:-2] if any_port else entry)
        if (scheme, host) == (a_scheme, a_host) and (any_port or port == a_port):
            return True
    return False


def latin1_headers(request: web.BaseRequest) -> tuple[tuple[str, str], ...]:
    """Header values as latin-1 text of the bytes sent (aiohttp's own decoding loses non-UTF-8 bytes):
    what is forwarded, and what the secret forms are matched against (the Lambda writes latin-1)."""
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in request.raw_headers)


def scrub_captured(captured: CapturedRequest, scrubber: Scrubber, headers: Headers) -> CapturedRequest:
    """The request as the journal may keep it."""
    raw_path, _, raw_query = scrubber.url(f"{captured.raw_path}?{captured.raw_query}").partition("?")
    body = scrubber.body(captured.body) if captured.body else ""
    return dataclasses.replace(
        captured, path=unquote(raw_path), raw_path=raw_path, raw_query=raw_query, query=parse_qs(raw_query),
        headers=dict(scrubber.header_pairs(headers)), body=body,
        json=json.loads(body) if captured.json is not None else None,
    )


def _url(captured: CapturedRequest) -> str:
    return f"{captured.raw_path}?{captured.raw_query}" if captured.raw_query else captured.raw_path


def _request_only(captured: CapturedRequest, headers: Headers) -> Exchange:
    """The request as an exchange with no answer yet (what the scrubber learns from before forwarding)."""
    return Exchange(target="", method=captured.method, url=_url(captured), request_headers=headers,
                    request_body=captured.body, status=0, response_headers=(), response_body=b"", started="",
                    elapsed_ms=0.0)


class Recorder:
    def __init__(self, allowed_targets: Sequence[str]) -> None:
        self.allowed_targets = tuple(allowed_targets)
        self.status = "NeverStarted"
        self.spec = RecordSpec()
        self.exchanges: list[Exchange] = []

    def start(self, spec: RecordSpec) -> None:
        assert spec.target is not None  # parse_spec(needs_target=True)
        if self.status == "Recording":
            raise RecordingError(409, "already recording: POST /__admin/recordings/stop first")
        if not target_allowed(spec.target, self.allowed_targets):
            allowed = ", ".join(self.allowed_targets) or "none"
            raise RecordingError(403, f"target {spec.target} is not allowed (allowed: {allowed}); start the mock "
                                      f"API with --record-target {spec.target} (env MOCKAPI_RECORD_TARGETS)")
        self.spec, self.exchanges, self.status = spec, [], "Recording"

    def stop(self) -> list[dict[str, Any]]:
        if self.status != "Recording":
            raise RecordingError(400, "not recording: POST /__admin/recordings/start first")
        self.status = "Stopped"
        return self.mappings(self.spec)

    def mappings(self, spec: RecordSpec) -> list[dict[str, Any]]:
        chosen = [e for e in self.exchanges if spec.selects(e.method, e.path)]
        return build_mappings(chosen, spec)[0]

    def har(self) -> dict[str, Any]:
        return har_log(self.exchanges, build_mappings(self.exchanges, self.spec)[1])

    def proxies(self, captured: CapturedRequest) -> bool:
        return self.status == "Recording" and self.spec.selects(captured.method, captured.raw_path)

    async def handle(self, request: web.Request, captured: CapturedRequest, journal: Journal) -> web.Response:
        """Forward, keep the exchange scrubbed, journal it scrubbed, answer what the target answered."""
        started = time.monotonic()
        headers = latin1_headers(request)
        scrubber = self._learn(_request_only(captured, headers))
        entry = journal.record(scrub_captured(captured, scrubber, headers), None)
        entry["proxiedTo"] = self.spec.target
        if captured.body_truncated:
            return self._fail(entry, journal, started, 413, "the request body is larger than the mock API keeps "
                                                             "(CAPTURED_BODY_BYTES); it cannot be recorded")
        if len(self.exchanges) >= MAX_RECORDED_EXCHANGES:
            return self._fail(entry, journal, started, 507, f"{MAX_RECORDED_EXCHANGES} exchanges recorded "
                                                             "(MAX_RECORDED_EXCHANGES): stop, then record again")
        try:
            exchange = await forward(self.spec.target or "", captured.method, _url(captured), headers,
                                     captured.body.encode(), captured.body)
        except ProxyError as exc:
            return self._fail(entry, journal, started, 502, str(exc))
        scrubber = self._learn(exchange)
        kept = scrubber.exchange(exchange)
        self.exchanges.append(kept)
        journal.record_response(entry, kept.status, dict(kept.response_headers), kept.response_body,
                                (time.monotonic() - started) * 1000)
        # The client gets the target's answer as is: the Lambda must see what it would in production.
        return web.Response(status=exchange.status, headers=CIMultiDict(exchange.response_headers),
                            body=exchange.response_body)

    def _learn(self, exchange: Exchange) -> Scrubber:
        """Values taken out by name are taken out everywhere, in this exchange and those after it."""
        scrubber = self.spec.scrubber.learn(exchange)
        self.spec = dataclasses.replace(self.spec, scrubber=scrubber)
        return scrubber

    @staticmethod
    def _fail(entry: dict[str, Any], journal: Journal, started: float, status: int, message: str) -> web.Response:
        response = web.json_response({"error": f"recording proxy: {message}"}, status=status)
        journal.record_response(entry, status, {}, response.body if isinstance(response.body, bytes) else b"",
                                (time.monotonic() - started) * 1000)
        return response

