"""Stub definitions: parsing and validating them, and picking the one that answers a request.

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


class StubError(ValueError):
    """A stub definition is invalid. The message starts with the offending field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field_name = field_name


class StubFileError(Exception):
    """A stubs file cannot be read, parsed or validated."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


class StubConflictError(Exception):
    """An admin change would clash with a stub loaded from the stubs file."""


@dataclass(frozen=True)
class RequestMatcher:
    method: str  # upper case, or "ANY"
    path: str | None
    path_pattern: re.Pattern[str] | None
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
    definition: Mapping[str, Any]  # the stub as given (with its id), for GET /__admin/stubs


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StubError(where or "stub", "must be an object")
    return value


def _reject_unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    # Unknown keys are almost always typos (`stauts`, `pathPatern`); silently ignoring them
    # would make a stub match or answer differently from what its author believes.
    for key in obj:
        if key not in allowed:
            raise StubError(_join(where, str(key)), f"unknown field (allowed: {sorted(allowed)})")


def _int(obj: Mapping[str, Any], key: str, where: str, default: int, minimum: int) -> int:
    value = obj.get(key, default)
    # bool is an int subclass; `status: true` is a mistake, not status 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StubError(_join(where, key), f"must be an integer >= {minimum}")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise StubError(_join(where, key), "must be true or false")
    return value


def _headers(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StubError(where, "must be an object of header name -> value")
    result: dict[str, str] = {}
    for name, header_value in value.items():
        # YAML turns `Retry-After: 2` into an int; header values are text on the wire anyway.
        if not isinstance(header_value, str | int | float) or isinstance(header_value, bool):
            raise StubError(_join(where, str(name)), "must be a string or number")
        result[str(name)] = str(header_value)
    return result


def _parse_request(value: object, where: str) -> RequestMatcher:
    obj = _mapping(value, where)
    _reject_unknown(obj, _REQUEST_KEYS, where)
    method = obj.get("method", "ANY")
    if not isinstance(method, str) or not _METHOD_RE.fullmatch(method.upper()):
        raise StubError(_join(where, "method"), "must be an HTTP method name or ANY")
    path = obj.get("path")
    pattern_text = obj.get("pathPattern")
    if (path is None) == (pattern_text is None):
        raise StubError(where, "needs exactly one of path or pathPattern")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise StubError(_join(where, "path"), "must be a string starting with /")
    pattern = None
    if pattern_text is not None:
        if not isinstance(pattern_text, str):
            raise StubError(_join(where, "pathPattern"), "must be a string")
        try:
            pattern = re.compile(pattern_text)
        except re.error as exc:
            raise StubError(_join(where, "pathPattern"), f"invalid regex: {exc}") from exc
    headers = _headers(obj.get("headers"), _join(where, "headers"))
    return RequestMatcher(method.upper(), path, pattern, headers)


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
    obj = _mapping(value, where)
    _reject_unknown(obj, _RESPONSE_KEYS, where)
    status_from_path = _bool(obj, "statusFromPath", where)
    if status_from_path and "status" in obj:
        raise StubError(_join(where, "status"), "cannot be combined with statusFromPath")
    status = obj.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise StubError(_join(where, "status"), "must be an integer between 100 and 599")
    echo = _bool(obj, "echo", where)
    if echo and obj.get("body") is not None:
        raise StubError(_join(where, "body"), "cannot be combined with echo")
    fault = obj.get("fault")
    if fault is not None and fault not in FAULTS:
        raise StubError(_join(where, "fault"), f"must be one of {sorted(FAULTS)} or null")
    size_bytes = None
    if fault in SIZED_FAULTS:
        if "sizeBytes" not in obj:
            raise StubError(_join(where, "sizeBytes"), f"is required for fault {fault}")
        size_bytes = _int(obj, "sizeBytes", where, default=0, minimum=1)
    elif "sizeBytes" in obj:
        raise StubError(_join(where, "sizeBytes"), f"only used by faults {sorted(SIZED_FAULTS)}")
    body, content_type = _encode_body(obj.get("body"), _join(where, "body"))
    return ResponseSpec(
        status=status,
        status_from_path=status_from_path,
        headers=_headers(obj.get("headers"), _join(where, "headers")),
        body=body,
        body_content_type=content_type,
        echo=echo,
        delay_ms=_int(obj, "delayMs", where, default=0, minimum=0),
        fault=fault,
        drip_interval_ms=_int(obj, "dripIntervalMs", where, default=100, minimum=0),
        chunk_bytes=_int(obj, "chunkBytes", where, default=16, minimum=1),
        size_bytes=size_bytes,
    )


def parse_stub(value: object, where: str = "", default_id: str | None = None) -> Stub:
    """Validate one stub object; `where` prefixes field names in error messages."""
    obj = _mapping(value, where)
    _reject_unknown(obj, _STUB_KEYS, where)
    stub_id = obj.get("id", default_id or f"stub-{uuid.uuid4().hex[:12]}")
    if not isinstance(stub_id, str) or not _ID_RE.fullmatch(stub_id):
        raise StubError(_join(where, "id"), "must be a non-empty string of A-Z a-z 0-9 . _ ~ : -")
    if "request" not in obj:
        raise StubError(_join(where, "request"), "is required")
    request = _parse_request(obj["request"], _join(where, "request"))
    if ("response" in obj) == ("responses" in obj):
        raise StubError(where or "stub", "needs exactly one of response or responses")
    responses: tuple[ResponseSpec, ...]
    if "response" in obj:
        responses = (_parse_response(obj["response"], _join(where, "response")),)
    else:
        raw_list = obj["responses"]
        if not isinstance(raw_list, list) or not raw_list:
            raise StubError(_join(where, "responses"), "must be a non-empty list")
        responses = tuple(
            _parse_response(item, f"{_join(where, 'responses')}[{index}]") for index, item in enumerate(raw_list)
        )
    # Round-trip through JSON so the stored definition is detached from the caller's objects.
    definition = {"id": stub_id, **json.loads(json.dumps({k: v for k, v in obj.items() if k != "id"}))}
    return Stub(stub_id, request, responses, definition)


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


class StubStore:
    """File stubs (fixed) plus run-time stubs (admin API), and each stub's sequence position."""

    def __init__(self, file_stubs: list[Stub]) -> None:
        self._file_stubs = list(file_stubs)
        self._file_ids = {stub.id for stub in file_stubs}
        self._runtime: list[Stub] = []  # newest first, which is also match priority
        self._served: dict[str, int] = {}  # stub id -> responses served so far

    def is_file_stub(self, stub_id: str) -> bool:
        return stub_id in self._file_ids

    def all(self) -> list[Stub]:
        """Every stub in match priority order."""
        return [*self._runtime, *self._file_stubs]

    def add(self, stub: Stub) -> None:
        """Add a run-time stub; re-adding an id replaces that stub and restarts its sequence."""
        if stub.id in self._file_ids:
            raise StubConflictError(f"id {stub.id!r} belongs to a stub from the stubs file")
        self.remove(stub.id)
        self._runtime.insert(0, stub)

    def remove(self, stub_id: str) -> bool:
        before = len(self._runtime)
        self._runtime = [stub for stub in self._runtime if stub.id != stub_id]
        self._served.pop(stub_id, None)
        return len(self._runtime) != before

    def reset(self) -> None:
        self._runtime.clear()
        self._served.clear()

    def find(self, method: str, path: str, headers: Mapping[str, str]) -> Stub | None:
        return next((s for s in self.all() if s.request.matches(method, path, headers)), None)

    def next_response(self, stub: Stub) -> ResponseSpec:
        """Serve `responses` in order; once exhausted, the last one repeats."""
        served = self._served.get(stub.id, 0)
        self._served[stub.id] = served + 1
        return stub.responses[min(served, len(stub.responses) - 1)]
