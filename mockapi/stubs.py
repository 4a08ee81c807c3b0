"""Stub definitions: parsing and validating them, from the stubs file or the admin API.

A stub is plain data (from the YAML file or the admin API) turned into frozen objects once, so
a typo is reported when the stub is loaded, not when a test first happens to hit it.
"""

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockapi.fields import StubError, boolean, check_depth, headers, integer, join, mapping, raw_path, reject_unknown
from mockapi.limits import MAX_DELAY_MS, MAX_FAULT_SIZE_BYTES, MAX_RESPONSES_PER_STUB, STUB_ITEM_BYTES
from mockapi.patterns import PathPattern, PatternError, compile_path_pattern

__all__ = ["FAULTS", "SIZED_FAULTS", "RequestMatcher", "ResponseSpec", "Stub", "StubError", "StubFileError",
           "load_stub_file", "parse_stub"]

FAULTS = frozenset({"connection_reset", "slow_drip", "oversized", "gzip_bomb", "invalid_json", "no_response"})
# Faults that generate their own body and so need to know how big to make it.
SIZED_FAULTS = frozenset({"oversized", "gzip_bomb"})

_STUB_KEYS = frozenset({"id", "request", "response", "responses"})
_REQUEST_KEYS = frozenset({"method", "path", "pathPattern", "headers"})
_RESPONSE_KEYS = frozenset(
    {
        "status",
        "statusFromPath",
        "headers",
        "body",
        "echo",
        "delayMs",
        "fault",
        "dripIntervalMs",
        "chunkBytes",
        "sizeBytes",
    }
)
# Ids appear in DELETE /__admin/stubs/{id}, so keep them to characters that need no escaping.
_ID_RE = re.compile(r"[A-Za-z0-9._~:-]+")
_METHOD_RE = re.compile(r"[A-Z]+")


class StubFileError(Exception):
    """A stubs file cannot be read, parsed or validated."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass(frozen=True)
class RequestMatcher:
    method: str  # upper case, or "ANY"
    path: str | None
    path_pattern: PathPattern | None
    headers: Mapping[str, str]

    def matches(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        """`headers` must look up names case-insensitively (aiohttp's CIMultiDict does)."""
        if self.method != "ANY" and self.method != method.upper():
            return False
        if self.path is not None and self.path != path:
            return False
        if self.path_pattern is not None and not self.path_pattern.fullmatch(path):
            return False
        return all(headers.get(name) == value for name, value in self.headers.items())


@dataclass(frozen=True)
class ResponseSpec:
    status: int = 200
    status_from_path: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None  # already encoded; None means "no body"
    body_content_type: str | None = None  # used only if headers carry no Content-Type
    echo: bool = False
    delay_ms: int = 0
    fault: str | None = None
    drip_interval_ms: int = 100
    chunk_bytes: int = 16
    size_bytes: int | None = None

    def headers_with_type(self, default_type: str | None) -> dict[str, str]:
        """The stub's headers, plus Content-Type `default_type` if the stub set none."""
        headers = dict(self.headers)
        if default_type and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = default_type
        return headers


@dataclass(frozen=True)
class Stub:
    id: str
    request: RequestMatcher
    responses: tuple[ResponseSpec, ...]
    # The stub as given (with its id) as compact JSON, for GET /__admin/stubs: text costs far
    # less memory than the parsed objects, and its length is what the store's limits count.
    definition_json: bytes
    weight: int  # about the bytes this stub keeps in memory (what the store's byte limit counts)

    @property
    def definition(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.definition_json)
        return parsed


def _weight(request: RequestMatcher, responses: tuple[ResponseSpec, ...], definition_json: bytes) -> int:
    items = len(request.headers) + sum(1 + len(spec.headers) for spec in responses)
    return len(definition_json) + STUB_ITEM_BYTES * items


def _parse_request(value: object, where: str) -> RequestMatcher:
    obj = mapping(value, where)
    reject_unknown(obj, _REQUEST_KEYS, where)
    method = obj.get("method", "ANY")
    if not isinstance(method, str) or not _METHOD_RE.fullmatch(method.upper()):
        raise StubError(join(where, "method"), "must be an HTTP method name or ANY")
    path = obj.get("path")
    pattern_text = obj.get("pathPattern")
    if (path is None) == (pattern_text is None):
        raise StubError(where, "needs exactly one of path or pathPattern")
    if path is not None:
        path = raw_path(path, join(where, "path"))
    pattern = None
    if pattern_text is not None:
        if not isinstance(pattern_text, str):
            raise StubError(join(where, "pathPattern"), "must be a string")
        try:
            pattern = compile_path_pattern(pattern_text)
        except PatternError as exc:
            raise StubError(join(where, "pathPattern"), str(exc)) from exc
    matched_headers = headers(obj.get("headers"), join(where, "headers"), response=False)
    return RequestMatcher(method.upper(), path, pattern, matched_headers)


def _encode_body(value: object, where: str) -> tuple[bytes | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, str):
        return value.encode(), "text/plain; charset=utf-8"
    # Maps, lists, numbers and booleans are JSON values; send them as JSON.
    try:
        return json.dumps(value, ensure_ascii=False).encode(), "application/json"
    except (TypeError, ValueError) as exc:  # e.g. a YAML date, which JSON cannot express
        raise StubError(where, f"must be a string or JSON-compatible value: {exc}") from exc


def _parse_response(value: object, where: str) -> ResponseSpec:
    obj = mapping(value, where)
    reject_unknown(obj, _RESPONSE_KEYS, where)
    status_from_path = boolean(obj, "statusFromPath", where)
    if status_from_path and "status" in obj:
        raise StubError(join(where, "status"), "cannot be combined with statusFromPath")
    status = obj.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise StubError(join(where, "status"), "must be an integer between 100 and 599")
    echo = boolean(obj, "echo", where)
    if echo and obj.get("body") is not None:
        raise StubError(join(where, "body"), "cannot be combined with echo")
    fault = obj.get("fault")
    if fault is not None and fault not in FAULTS:
        raise StubError(join(where, "fault"), f"must be one of {sorted(FAULTS)} or null")
    size_bytes = None
    if fault in SIZED_FAULTS:
        if "sizeBytes" not in obj:
            raise StubError(join(where, "sizeBytes"), f"is required for fault {fault}")
        size_bytes = integer(obj, "sizeBytes", where, default=0, minimum=1, maximum=MAX_FAULT_SIZE_BYTES)
    elif "sizeBytes" in obj:
        raise StubError(join(where, "sizeBytes"), f"only used by faults {sorted(SIZED_FAULTS)}")
    body, content_type = _encode_body(obj.get("body"), join(where, "body"))
    return ResponseSpec(
        status=status,
        status_from_path=status_from_path,
        headers=headers(obj.get("headers"), join(where, "headers"), response=True),
        body=body,
        body_content_type=content_type,
        echo=echo,
        delay_ms=integer(obj, "delayMs", where, default=0, minimum=0, maximum=MAX_DELAY_MS),
        fault=fault,
        drip_interval_ms=integer(obj, "dripIntervalMs", where, default=100, minimum=0, maximum=MAX_DELAY_MS),
        chunk_bytes=integer(obj, "chunkBytes", where, default=16, minimum=1),
        size_bytes=size_bytes,
    )


def parse_stub(value: object, where: str = "", default_id: str | None = None) -> Stub:
    """Validate one stub object; `where` prefixes field names in error messages."""
    obj = mapping(value, where)
    check_depth(obj, where)  # first: the steps below (json.dumps of the body) recurse
    reject_unknown(obj, _STUB_KEYS, where)
    stub_id = obj.get("id", default_id or f"stub-{uuid.uuid4().hex[:12]}")
    if not isinstance(stub_id, str) or not _ID_RE.fullmatch(stub_id):
        raise StubError(join(where, "id"), "must be a non-empty string of A-Z a-z 0-9 . _ ~ : -")
    if "request" not in obj:
        raise StubError(join(where, "request"), "is required")
    request = _parse_request(obj["request"], join(where, "request"))
    if ("response" in obj) == ("responses" in obj):
        raise StubError(where or "stub", "needs exactly one of response or responses")
    responses: tuple[ResponseSpec, ...]
    if "response" in obj:
        responses = (_parse_response(obj["response"], join(where, "response")),)
    else:
        raw_list = obj["responses"]
        if not isinstance(raw_list, list) or not raw_list:
            raise StubError(join(where, "responses"), "must be a non-empty list")
        if len(raw_list) > MAX_RESPONSES_PER_STUB:
            raise StubError(join(where, "responses"), f"more than {MAX_RESPONSES_PER_STUB} (MAX_RESPONSES_PER_STUB)")
        responses = tuple(
            _parse_response(item, f"{join(where, 'responses')}[{index}]") for index, item in enumerate(raw_list)
        )
    rest = {key: value for key, value in obj.items() if key != "id"}
    definition = json.dumps({"id": stub_id, **rest}, ensure_ascii=False, separators=(",", ":")).encode()
    return Stub(stub_id, request, responses, definition, _weight(request, responses, definition))


def load_stub_file(path: Path) -> list[Stub]:
    """Load `stubs:` from a YAML (or JSON) file, raising StubFileError naming file and problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StubFileError(path, f"cannot read: {exc}") from exc
    try:
        # JSON is (for practical purposes) YAML, but json gives exact JSON errors for .json files.
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise StubFileError(path, f"cannot parse: {exc}") from exc
    except RecursionError as exc:  # both parsers recurse per nesting level
        raise StubFileError(path, "cannot parse: nested too deeply") from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("stubs"), list):
        raise StubFileError(path, "top level must be an object with a `stubs:` list")
    stubs: list[Stub] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["stubs"]):
        where = f"stubs[{index}]"
        try:
            stub = parse_stub(raw, where, default_id=f"file-{index + 1}")
        except StubError as exc:
            raise StubFileError(path, str(exc)) from exc
        if stub.id in seen:
            raise StubFileError(path, f"{where}.id: duplicate id {stub.id!r}")
        seen.add(stub.id)
        stubs.append(stub)
    return stubs
