"""WireMock's recording admin API: POST /__admin/recordings/start|stop|snapshot, GET .../status,
and GET /__admin/recordings/har (ours: the exchanges of the last recording as HAR 1.2).

Nothing secret is in any answer: exchanges are scrubbed when kept, and the start body (which may
list the secret values to scrub) is never echoed, logged or journaled.
"""

from __future__ import annotations

from aiohttp import web

from mockapi.admin_io import ADMIN_PREFIX, BodyError, error, read_json
from mockapi.fields import StubError
from mockapi.limits import MAX_STUB_BYTES
from mockapi.recording.recorder import Recorder, RecordingError
from mockapi.recording.spec import parse_spec
from mockapi.replay.mappings import parse_mapping
from mockapi.replay.store import MappingStore

PREFIX = f"{ADMIN_PREFIX}/recordings"


class RecordingAdmin:
    def __init__(self, recorder: Recorder, store: MappingStore) -> None:
        self._recorder = recorder
        self._store = store

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{PREFIX}/start", self.start),
            web.post(f"{PREFIX}/stop", self.stop),
            web.get(f"{PREFIX}/status", self.status),
            web.post(f"{PREFIX}/snapshot", self.snapshot),
            web.get(f"{PREFIX}/har", self.har),
        ]

    async def start(self, request: web.Request) -> web.Response:
        try:
            spec = parse_spec(await read_json(request, MAX_STUB_BYTES, "MAX_STUB_BYTES", empty={}), needs_target=True)
            self._recorder.start(spec)
        except BodyError as exc:
            return error(exc.status, str(exc))
        except StubError as exc:
            return error(400, str(exc))
        except RecordingError as exc:
            return error(exc.status, str(exc))
        return web.json_response({"status": "Recording", "targetBaseUrl": spec.target})

    async def stop(self, request: web.Request) -> web.Response:
        try:
            mappings = self._recorder.stop()
        except RecordingError as exc:
            return error(exc.status, str(exc))
        self._persist(mappings, self._recorder.spec.persist)
        return web.json_response({"mappings": mappings})

    async def status(self, request: web.Request) -> web.Response:
        recorder = self._recorder
        return web.json_response({"status": recorder.status, "targetBaseUrl": recorder.spec.target,
                                  "recorded": len(recorder.exchanges),
                                  "allowedTargets": list(recorder.allowed_targets)})

    async def snapshot(self, request: web.Request) -> web.Response:
        try:
            spec = parse_spec(await read_json(request, MAX_STUB_BYTES, "MAX_STUB_BYTES", empty={}), needs_target=False)
        except BodyError as exc:
            return error(exc.status, str(exc))
        except StubError as exc:
            return error(400, str(exc))
        mappings = self._recorder.mappings(spec)
        self._persist(mappings, spec.persist)
        return web.json_response({"mappings": mappings})

    async def har(self, request: web.Request) -> web.Response:
        return web.json_response(self._recorder.har())

    def _persist(self, mappings: list[dict[str, object]], persist: bool) -> None:
        """persist: the mappings serve at once (a replay needs no restart)."""
        if persist and mappings:
            self._store.add(*(parse_mapping(item) for item in mappings))
