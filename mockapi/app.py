"""The aiohttp application: admin routes plus one catch-all route that serves stubs."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from mockapi.admin import AdminApi, not_an_admin_endpoint
from mockapi.admin_io import ADMIN_PREFIX
from mockapi.capture import CapturedRequest, capture
from mockapi.faults import serve_fault
from mockapi.journal import Journal
from mockapi.limits import CAPTURED_BODY_BYTES, JOURNAL_MAX_BYTES, JOURNAL_MAX_ENTRIES
from mockapi.recording.admin import RecordingAdmin
from mockapi.recording.recorder import Recorder
from mockapi.replay.admin import ReplayAdmin
from mockapi.replay.mappings import StubMapping
from mockapi.replay.router import Router, serve_mapping
from mockapi.replay.store import MappingStore
from mockapi.store import StubStore
from mockapi.stubs import ResponseSpec, Stub

if TYPE_CHECKING:  # openapi-core (~0.35 s to import) only when --contracts is given
    from mockapi.contract_journal import ContractChecker
    from mockapi.openapi_examples import ExamplesResponder

# Statuses whose responses must not carry a body (RFC 9110).
_BODYLESS = frozenset({204, 304})


class StatusFromPathError(ValueError):
    """statusFromPath is set but the last path segment is not a status code."""


def _status(spec: ResponseSpec, path: str) -> int:
    if not spec.status_from_path:
        return spec.status
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    # 1xx are interim responses; sending one as the final answer would hang real clients.
    if not (segment.isdigit() and 200 <= int(segment) <= 599):
        raise StatusFromPathError(f"last path segment {segment!r} is not a status code 200-599")
    return int(segment)


def _body(spec: ResponseSpec, captured: CapturedRequest) -> tuple[bytes, str | None]:
    """The response body and the Content-Type to use if the stub did not set one."""
    if spec.echo:
        echo = json.dumps(captured.to_echo(), ensure_ascii=False).encode()
        return echo, "application/json"
    return spec.body or b"", spec.body_content_type


class MockHandler:
    def __init__(self, router: Router, recorder: Recorder, journal: Journal, body_limit: int,
                 contracts: ContractChecker | None = None, examples: ExamplesResponder | None = None) -> None:
        self._store = router.stubs
        self._router = router
        self._recorder = recorder
        self._journal = journal
        self._body_limit = body_limit
        self._contracts = contracts
        self._examples = examples

    async def handle(self, request: web.Request) -> web.StreamResponse:
        # Unknown admin paths (or wrong methods on known ones) fall through to this route;
        # answer them as admin errors so they are neither journaled nor matched against stubs.
        if request.path == ADMIN_PREFIX or request.path.startswith(f"{ADMIN_PREFIX}/"):
            return not_an_admin_endpoint(request.method, request.path)

        started = time.monotonic()
        captured = await capture(request, self._body_limit)
        if self._recorder.proxies(captured):
            return await self._recorder.handle(request, captured, self._journal)
        # RE2 matches each pattern in linear time, but a thousand patterns against an 8 KiB path
        # still add up (seconds, measured): match in a thread so the loop keeps serving others.
        route = await asyncio.to_thread(self._router.route, captured, request.headers)
        # Journal before answering, so faults that never answer still show up.
        entry = self._journal.record(captured, route.matched_id)
        route.annotate(entry, self._router.strict)
        if self._contracts is not None:
            self._contracts.annotate(entry, captured, request.host)
        unmatched = route.matched_id is None
        example = self._examples.answer(captured, request.host) if unmatched and self._examples else None
        response: web.StreamResponse
        if route.stub is not None:
            response = await self._respond(request, route.stub, captured, entry, started)
        elif route.mapping is not None:
            response = await serve_mapping(route.mapping)
        elif example is not None:
            response = example
        else:
            response = self._router.unmatched(route, captured)
        if entry["response"] is None:
            body = response.body if isinstance(response, web.Response) and isinstance(response.body, bytes) else b""
            self._journal.record_response(entry, response.status, response.headers, body,
                                          (time.monotonic() - started) * 1000)
        return response

    async def _respond(self, request: web.Request, stub: Stub, captured: CapturedRequest,
                       entry: dict[str, Any], started: float) -> web.StreamResponse:
        spec = self._store.next_response(stub)
        if spec.delay_ms:
            await asyncio.sleep(spec.delay_ms / 1000)
        try:
            status = _status(spec, captured.raw_path)
        except StatusFromPathError as exc:
            return web.json_response({"error": f"stub {stub.id}: {exc}"}, status=500)
        body, default_type = _body(spec, captured)
        if spec.fault:
            # Faults may never answer: journal what the stub meant to do before trying.
            self._journal.record_response(entry, status, spec.headers, b"",
                                          (time.monotonic() - started) * 1000, fault=spec.fault)
            return await serve_fault(request, spec, status, body, default_type)

        if status in _BODYLESS or not body:
            return web.Response(status=status, headers=dict(spec.headers))
        return web.Response(status=status, headers=spec.headers_with_type(default_type), body=body)


def create_app(stubs: list[Stub], *, journal_size: int = JOURNAL_MAX_ENTRIES,
               body_limit: int = CAPTURED_BODY_BYTES, contracts: ContractChecker | None = None,
               examples: ExamplesResponder | None = None, mappings: list[StubMapping] | None = None,
               strict: bool = False, record_targets: tuple[str, ...] = ()) -> web.Application:
    """Build the mock service; `body_limit` caps request bytes kept for echo and the journal;
    `contracts` checks each journaled request against its OpenAPI operation; `examples` answers
    from an OpenAPI document's examples when no stub or mapping matches.

    `mappings` (WireMock's, from --mappings/--har) serve after run-time stubs and before file
    stubs; `strict` answers an unmatched request with a near-miss report; `record_targets` are
    the origins a recording may proxy to.
    """
    store = StubStore(stubs)
    mapping_store = MappingStore(mappings or [])
    journal = Journal(journal_size, JOURNAL_MAX_BYTES)
    recorder = Recorder(record_targets)
    app = web.Application()
    # Admin routes go first so the catch-all below never sees a valid admin request.
    app.router.add_routes(AdminApi(store, journal, mapping_store).routes())
    app.router.add_routes(ReplayAdmin(mapping_store, journal).routes())
    app.router.add_routes(RecordingAdmin(recorder, mapping_store).routes())
    router = Router(store, mapping_store, strict)
    app.router.add_route("*", "/{tail:.*}",
                         MockHandler(router, recorder, journal, body_limit, contracts, examples).handle)
    return app
