"""The WireMock-style admin API under /__admin/: health, journal and run-time stubs."""

import json

from aiohttp import web

from mockapi.admin_io import ADMIN_PREFIX
from mockapi.admin_io import read_at_most as _read_at_most
from mockapi.journal import Journal
from mockapi.limits import MAX_STUB_BYTES
from mockapi.replay.store import MappingStore
from mockapi.store import StubConflictError, StubLimitError, StubStore
from mockapi.stubs import Stub, StubError, parse_stub


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _describe(stub: Stub, store: StubStore) -> dict[str, object]:
    source = "file" if store.is_file_stub(stub.id) else "runtime"
    return {**stub.definition, "source": source}


class AdminApi:
    def __init__(self, store: StubStore, journal: Journal, mappings: MappingStore | None = None) -> None:
        self._store = store
        self._journal = journal
        self._mappings = mappings

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{ADMIN_PREFIX}/health", self.health),
            web.get(f"{ADMIN_PREFIX}/requests", self.list_requests),
            web.delete(f"{ADMIN_PREFIX}/requests", self.clear_requests),
            web.get(f"{ADMIN_PREFIX}/stubs", self.list_stubs),
            web.post(f"{ADMIN_PREFIX}/stubs", self.add_stub),
            web.delete(f"{ADMIN_PREFIX}/stubs/{{stub_id}}", self.delete_stub),
            web.post(f"{ADMIN_PREFIX}/reset", self.reset),
        ]

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def list_requests(self, request: web.Request) -> web.Response:
        prefix, trace = _selection(request)
        return web.json_response({"requests": self._journal.entries(prefix, trace)})

    async def clear_requests(self, request: web.Request) -> web.Response:
        prefix, trace = _selection(request)
        return web.json_response({"deleted": self._journal.clear(prefix, trace)})

    async def list_stubs(self, request: web.Request) -> web.Response:
        stubs = [_describe(stub, self._store) for stub in self._store.all()]
        return web.json_response({"stubs": stubs})

    async def add_stub(self, request: web.Request) -> web.Response:
        body = await _read_at_most(request, MAX_STUB_BYTES)
        if body is None:
            return _error(413, f"stub is larger than {MAX_STUB_BYTES} bytes (MAX_STUB_BYTES); send a smaller "
                               f"body, or use the oversized or gzip_bomb fault for a large response")
        try:
            raw = json.loads(body)
        except ValueError as exc:  # JSONDecodeError, or a body that is not UTF-8
            return _error(400, f"request body is not valid JSON: {exc}")
        except RecursionError:  # the parser recurses once per nesting level
            return _error(400, "request body is not valid JSON: nested too deeply")
        try:
            stub = parse_stub(raw)
            self._store.add(stub)
        except (StubError, StubLimitError) as exc:
            return _error(400, str(exc))
        except StubConflictError as exc:
            return _error(409, str(exc))
        return web.json_response({"id": stub.id}, status=201)

    async def delete_stub(self, request: web.Request) -> web.Response:
        stub_id = request.match_info["stub_id"]
        if self._store.is_file_stub(stub_id):
            # File stubs are the baseline every test relies on; edit the file to change them.
            return _error(409, f"stub {stub_id!r} comes from the stubs file and cannot be removed")
        if not self._store.remove(stub_id):
            return _error(404, f"no run-time stub with id {stub_id!r}")
        return web.json_response({"deleted": stub_id})

    async def reset(self, request: web.Request) -> web.Response:
        self._store.reset()
        self._journal.clear()
        if self._mappings is not None:  # WireMock's reset: admin mappings gone, scenarios at Started
            self._mappings.reset()
        return web.json_response({"status": "reset"})


def _selection(request: web.Request) -> tuple[str, str | None]:
    """?pathPrefix= and ?traceId= (the 32 hex digits of a W3C traceparent) select journal entries."""
    return request.query.get("pathPrefix", ""), request.query.get("traceId") or None


def not_an_admin_endpoint(method: str, path: str) -> web.Response:
    return _error(404, f"no admin endpoint {method} {path}")
