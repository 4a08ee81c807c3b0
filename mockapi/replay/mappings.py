"""WireMock stub mappings: parsed from JSON (a file, a folder, the admin API) into frozen objects.

The subset served: request{method, url|urlPath|urlPathPattern|urlPattern, queryParameters,
headers, bodyPatterns}, response{status, headers, body|jsonBody|base64Body|bodyFileName,
fixedDelayMilliseconds}, priority, and scenarios (scenarioName, requiredScenarioState,
newScenarioState). Anything else is refused naming the field, so a mapping never silently
answers differently here than in WireMock.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockapi.fields import FRAMING_HEADERS, StubError, check_depth, integer, join, mapping, reject_unknown
from mockapi.limits import MAX_DELAY_MS
from mockapi.replay.request_pattern import RequestPattern, parse_request_pattern

# WireMock's default priority (lower wins); equal priorities: the newest mapping wins.
DEFAULT_PRIORITY = 5
_MAPPING_KEYS = frozenset({"id", "uuid", "name", "request", "response", "priority", "persistent", "insertionIndex",
                           "scenarioName", "requiredScenarioState", "newScenarioState", "metadata"})
_RESPONSE_KEYS = frozenset({"status", "statusMessage", "headers", "body", "jsonBody", "base64Body", "bodyFileName",
                            "fixedDelayMilliseconds"})
_BODY_KEYS = ("body", "jsonBody", "base64Body", "bodyFileName")
# The mock frames and encodes bodies itself; a recorded Content-Encoding would lie about the bytes.
_DROPPED_HEADERS = FRAMING_HEADERS | {"content-encoding"}


class MappingFileError(Exception):
    """A mappings file or folder cannot be read or holds an invalid mapping; names file and field."""


@dataclass(frozen=True)
class MappedResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str | None  # when the mapping set no Content-Type
    delay_ms: int


@dataclass(frozen=True)
class StubMapping:
    id: str
    name: str | None
    request: RequestPattern
    response: MappedResponse
    priority: int
    scenario: str | None
    required_state: str | None
    new_state: str | None
    definition: Mapping[str, Any]  # as given (with its id), for GET /__admin/mappings


def parse_mapping(value: object, where: str = "", files_dir: Path | None = None) -> StubMapping:
    obj = mapping(value, where)
    check_depth(obj, where)
    reject_unknown(obj, _MAPPING_KEYS, where)
    mapping_id = obj.get("id") or obj.get("uuid") or str(uuid.uuid4())
    try:
        mapping_id = str(uuid.UUID(mapping_id))
    except (TypeError, ValueError, AttributeError):
        # WireMock refuses to start on a mapping whose id is not a UUID: refuse it here too.
        raise StubError(join(where, "id"), f"{mapping_id!r} is not a UUID (WireMock reads no other ids); "
                                           "put a readable label in `name`") from None
    if "request" not in obj or "response" not in obj:
        raise StubError(where or "mapping", "needs request and response")
    scenario = {key: _optional_text(obj, key, where)
                for key in ("scenarioName", "requiredScenarioState", "newScenarioState")}
    if scenario["scenarioName"] is None and (scenario["requiredScenarioState"] or scenario["newScenarioState"]):
        raise StubError(join(where, "scenarioName"), "is required with requiredScenarioState or newScenarioState")
    priority = integer(obj, "priority", where, default=DEFAULT_PRIORITY, minimum=1)
    return StubMapping(
        id=mapping_id,
        name=_optional_text(obj, "name", where),
        request=parse_request_pattern(obj["request"], join(where, "request")),
        response=_parse_response(obj["response"], join(where, "response"), files_dir),
        priority=priority,
        scenario=scenario["scenarioName"],
        required_state=scenario["requiredScenarioState"],
        new_state=scenario["newScenarioState"],
        definition={**obj, "id": mapping_id},
    )


def _optional_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise StubError(join(where, key), "must be a string")
    return value


def _parse_response(value: object, where: str, files_dir: Path | None) -> MappedResponse:
    obj = mapping(value, where)
    reject_unknown(obj, _RESPONSE_KEYS, where)
    status = integer(obj, "status", where, default=200, minimum=100, maximum=599)
    given = [key for key in _BODY_KEYS if key in obj]
    if len(given) > 1:
        raise StubError(where, f"takes at most one of {list(_BODY_KEYS)}, got {given}")
    body, content_type = _body(obj, given[0] if given else None, where, files_dir)
    return MappedResponse(
        status=status,
        headers=_headers(obj.get("headers"), join(where, "headers")),
        body=body,
        content_type=content_type,
        delay_ms=integer(obj, "fixedDelayMilliseconds", where, default=0, minimum=0, maximum=MAX_DELAY_MS),
    )


def _body(obj: Mapping[str, Any], key: str | None, where: str, files_dir: Path | None) -> tuple[bytes, str | None]:
    if key is None:
        return b"", None
    value = obj[key]
    field = join(where, key)
    if key == "jsonBody":
        # Compact, as WireMock serves a jsonBody: the same mapping answers the same bytes in both.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(), "application/json"
    if not isinstance(value, str):
        raise StubError(field, "must be a string")
    if key == "body":
        return value.encode(), None
    if key == "base64Body":
        try:
            return base64.b64decode(value, validate=True), "application/octet-stream"
        except binascii.Error as exc:
            raise StubError(field, f"is not base64: {exc}") from exc
    # bodyFileName: relative to the __files folder beside mappings/, as WireMock writes it.
    if files_dir is None:
        raise StubError(field, "needs a mappings folder with __files/ beside it (not the admin API)")
    path = (files_dir / value).resolve()
    if not path.is_relative_to(files_dir.resolve()):
        raise StubError(field, f"{value!r} points outside {files_dir}")
    try:
        return path.read_bytes(), None
    except OSError as exc:
        raise StubError(field, f"cannot read {path}: {exc}") from exc


def _headers(value: object, where: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    obj = mapping(value, where)
    pairs: list[tuple[str, str]] = []
    for name, header_value in obj.items():
        if name.lower() in _DROPPED_HEADERS:
            continue
        # WireMock writes a repeated header as a list of values.
        values = header_value if isinstance(header_value, list) else [header_value]
        for item in values:
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                raise StubError(join(where, name), "must be a string, a number or a list of them")
            text = str(item)
            if any(ord(char) < 0x20 and char != "\t" for char in text):
                raise StubError(join(where, name), "must not contain control characters such as CR or LF")
            pairs.append((name, text))
    return tuple(pairs)


def load_mappings_dir(root: Path) -> list[StubMapping]:
    """Every mapping under `root/mappings/*.json` (or `root/*.json` when there is no mappings/).

    A file holds one mapping or {"mappings": [...]}, as WireMock reads them. Sorted by file name,
    so the load order (and so which of two equal mappings wins) is the same everywhere.
    """
    folder = root / "mappings" if (root / "mappings").is_dir() else root
    if not folder.is_dir():
        raise MappingFileError(f"{root}: not a folder (give the folder holding mappings/*.json)")
    files_dir = folder.parent / "__files"
    found: list[StubMapping] = []
    for path in sorted(folder.rglob("*.json")):
        found.extend(load_mapping_file(path, files_dir))
    return found


def load_mapping_file(path: Path, files_dir: Path | None) -> list[StubMapping]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MappingFileError(f"{path}: cannot read a JSON mapping: {exc}") from exc
    items = data["mappings"] if isinstance(data, dict) and "mappings" in data else [data]
    if not isinstance(items, list):
        raise MappingFileError(f"{path}: mappings must be a list")
    try:
        return [parse_mapping(item, f"mappings[{index}]" if len(items) > 1 else "", files_dir)
                for index, item in enumerate(items)]
    except StubError as exc:
        raise MappingFileError(f"{path}: {exc}") from exc
