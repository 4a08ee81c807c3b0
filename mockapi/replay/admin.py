"""WireMock's admin API for mappings, scenarios and unmatched requests (and a HAR import of ours).

| GET /__admin/mappings | {"mappings": [...], "meta": {"total": n}} |
| POST /__admin/mappings | one mapping -> 201 the mapping (with its id) |
| POST /__admin/mappings/import | {"mappings": [...]} -> 200 |
| POST /__admin/mappings/import-har | a HAR 1.2 document -> 200 {"mappings": [...]} (ours) |
| DELETE /__admin/mappings/{id} | an admin mapping (file mappings stay) |
| POST /__admin/mappings/reset | back to the file mappings |
| GET /__admin/scenarios, POST /__admin/scenarios/reset | scenario states |
| GET /__admin/requests/unmatched[/near-misses] | journal entries no stub or mapping answered |
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockapi.admin_io import ADMIN_PREFIX as PREFIX
from mockapi.admin_io import BodyError, error, read_json
from mockapi.fields import StubError
from mockapi.har import HarError, exchanges
from mockapi.journal import Journal
from mockapi.limits import MAX_IMPORT_BYTES, MAX_RUNTIME_MAPPINGS, MAX_STUB_BYTES
from mockapi.recording.builder import build_mappings
from mockapi.recording.spec import RecordSpec
from mockapi.replay.mappings import StubMapping, parse_mapping
from mockapi.replay.store import MappingStore


def unmatched(journal: Journal) -> list[dict[str, Any]]:
    return [entry for entry in journal.entries() if entry.get("wasMatched") is False]


class ReplayAdmin:
    def __init__(self, store: MappingStore, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PREFIX}/mappings", self.list_mappings),
            web.post(f"{PREFIX}/mappings", self.add_mapping),
            web.post(f"{PREFIX}/mappings/import", self.import_mappings),
            web.post(f"{PREFIX}/mappings/import-har", self.import_har),
            web.post(f"{PREFIX}/mappings/reset", self.reset_mappings),
            web.delete(f"{PREFIX}/mappings/{{mapping_id}}", self.delete_mapping),
            web.get(f"{PREFIX}/scenarios", self.list_scenarios),
            web.post(f"{PREFIX}/scenarios/reset", self.reset_scenarios),
            web.get(f"{PREFIX}/requests/unmatched", self.list_unmatched),
            web.get(f"{PREFIX}/requests/unmatched/near-misses", self.list_near_misses),
        ]

    async def list_mappings(self, request: web.Request) -> web.Response:
        mappings = [{**m.definition, "source": "file" if self._store.is_file_mapping(m.id) else "runtime"}
                    for m in self._store.all()]
        return web.json_response({"mappings": mappings, "meta": {"total": len(mappings)}})

    async def add_mapping(self, request: web.Request) -> web.Response:
        try:
            found = self._add([await read_json(request, MAX_STUB_BYTES, "MAX_STUB_BYTES")])
        except BodyError as exc:
            return error(exc.status, str(exc))
        return found if isinstance(found, web.Response) else web.json_response(dict(found[0].definition), status=201)

    async def import_mappings(self, request: web.Request) -> web.Response:
        try:
            body = await read_json(request, MAX_IMPORT_BYTES, "MAX_IMPORT_BYTES")
        except BodyError as exc:
            return error(exc.status, str(exc))
        items = body.get("mappings") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return error(400, 'body must be {"mappings": [...]}')
        found = self._add(items)
        return found if isinstance(found, web.Response) else web.json_response({"imported": len(found)})

    async def import_har(self, request: web.Request) -> web.Response:
        try:
            recorded = exchanges(await read_json(request, MAX_IMPORT_BYTES, "MAX_IMPORT_BYTES"))
        except BodyError as exc:
            return error(exc.status, str(exc))
        except HarError as exc:
            return error(400, str(exc))
        items = build_mappings(recorded, RecordSpec())[0]
        found = self._add(items)
        return found if isinstance(found, web.Response) else web.json_response({"mappings": items})

    def _add(self, items: list[Any]) -> list[StubMapping] | web.Response:
        try:
            parsed = [parse_mapping(item, f"mappings[{index}]" if len(items) > 1 else "")
                      for index, item in enumerate(items)]
        except StubError as exc:
            return error(400, str(exc))
        if len(self._store) + len(parsed) > MAX_RUNTIME_MAPPINGS:
            return error(400, f"more than {MAX_RUNTIME_MAPPINGS} mappings (MAX_RUNTIME_MAPPINGS); "
                              "POST /__admin/mappings/reset to remove the admin ones")
        self._store.add(*parsed)
        return parsed

    async def reset_mappings(self, request: web.Request) -> web.Response:
        self._store.reset()
        return web.json_response({"status": "reset"})

    async def delete_mapping(self, request: web.Request) -> web.Response:
        mapping_id = request.match_info["mapping_id"]
        if self._store.is_file_mapping(mapping_id):
            return error(409, f"mapping {mapping_id!r} comes from the mappings folder; edit the folder to change it")
        if not self._store.remove(mapping_id):
            return error(404, f"no admin mapping with id {mapping_id!r}")
        return web.json_response({"deleted": mapping_id})

    async def list_scenarios(self, request: web.Request) -> web.Response:
        return web.json_response({"scenarios": self._store.scenarios()})

    async def reset_scenarios(self, request: web.Request) -> web.Response:
        self._store.reset_scenarios()
        return web.json_response({"status": "reset"})

    async def list_unmatched(self, request: web.Request) -> web.Response:
        return web.json_response({"requests": unmatched(self._journal)})

    async def list_near_misses(self, request: web.Request) -> web.Response:
        found = [{"request": {"method": entry["method"], "url": entry["rawPath"]
                              + (f"?{entry['rawQuery']}" if entry["rawQuery"] else ""), "id": entry["id"]},
                  **miss}
                 for entry in unmatched(self._journal) for miss in entry.get("nearMisses", [])]
        return web.json_response({"nearMisses": found})
