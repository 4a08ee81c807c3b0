"""Which answer a request gets: run-time stubs, then mappings, then file stubs; else a near-miss 404.

Run-time stubs come first (a test's own stub beats a recording), recorded mappings before the
bundled stubs.yaml (a recording is more specific than its catch-all patterns).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from mockapi.capture import CapturedRequest
from mockapi.replay.mappings import StubMapping
from mockapi.replay.request_pattern import Incoming
from mockapi.replay.store import MappingStore, NearMiss
from mockapi.store import StubStore
from mockapi.stubs import Stub

UNMATCHED = "Request was not matched"  # WireMock's words, which its users search for


@dataclass
class Route:
    stub: Stub | None = None
    mapping: StubMapping | None = None
    near_misses: list[NearMiss] = field(default_factory=list)

    @property
    def matched_id(self) -> str | None:
        if self.stub is not None:
            return self.stub.id
        return self.mapping.id if self.mapping is not None else None

    def annotate(self, entry: dict[str, Any], strict: bool) -> None:
        """Mark the journal entry: which mapping answered, or that nothing did (and the near misses)."""
        entry["wasMatched"] = self.matched_id is not None
        entry["mappingId"] = self.mapping.id if self.mapping is not None else None
        if strict and not entry["wasMatched"]:
            entry["nearMisses"] = [miss.to_json() for miss in self.near_misses]


class Router:
    def __init__(self, stubs: StubStore, mappings: MappingStore, strict: bool) -> None:
        self.stubs = stubs
        self.mappings = mappings
        self.strict = strict

    def route(self, captured: CapturedRequest, headers: Mapping[str, str]) -> Route:
        """Runs in a worker thread (RE2 patterns can add up, see app.py)."""
        stub = self.stubs.find_runtime(captured.method, captured.raw_path, headers)
        if stub is not None:
            return Route(stub=stub)
        incoming = Incoming.of(captured)
        if len(self.mappings):
            mapping = self.mappings.serve(incoming)
            if mapping is not None:
                return Route(mapping=mapping)
        stub = self.stubs.find_file(captured.method, captured.raw_path, headers)
        if stub is not None:
            return Route(stub=stub)
        return Route(near_misses=self.mappings.near_misses(incoming) if self.strict else [])

    def unmatched(self, route: Route, captured: CapturedRequest) -> web.Response:
        if not self.strict:
            return web.json_response({"error": "no stub matched", "method": captured.method, "path": captured.path},
                                     status=404)
        report = {
            "error": UNMATCHED,
            "request": {"method": captured.method, "url": Incoming.of(captured).url},
            "nearMisses": [miss.to_json() for miss in route.near_misses],
        }
        return web.Response(status=404, text=json.dumps(report, ensure_ascii=False, indent=1),
                            content_type="application/json")


async def serve_mapping(mapping: StubMapping) -> web.Response:
    response = mapping.response
    if response.delay_ms:
        await asyncio.sleep(response.delay_ms / 1000)
    headers = list(response.headers)
    if response.content_type and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", response.content_type))
    if response.status in (204, 304) or not response.body:
        return web.Response(status=response.status, headers=CIMultiDict(headers))
    return web.Response(status=response.status, headers=CIMultiDict(headers), body=response.body)
