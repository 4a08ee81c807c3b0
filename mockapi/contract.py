"""Contract check: a request against an operation of an OpenAPI document (openapi-core).

One engine for every place that checks (the dry run, the seed, the mock API's journal), so they
cannot disagree. It imports neither aiohttp nor the harness: the mock API's image and the seed
both run it. Messages read `part.field: rule` (`query.fields: required`); see contract_errors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

from mockapi.contract_errors import Violation, violations

_MATCH_CACHE_SIZE = 4096
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")


class ContractError(ValueError):
    """A document that cannot be read, or an operation it does not have; the message says which."""


@dataclass(frozen=True)
class Operation:
    document: Path
    operation_id: str  # "" when the document gives none
    method: str  # upper case
    path: str  # the path template, e.g. /users/{userId}

    @property
    def label(self) -> str:
        return self.operation_id or f"{self.method} {self.path}"


class HttpRequest:
    """openapi-core's Request protocol, for a request as sent (url with its query, body as bytes)."""

    def __init__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> None:
        self.method_upper = method.upper()
        self.url = url
        self.headers = headers
        self.body = body
        self._parts = urlsplit(url)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(self._parts.query, keep_blank_values=True)),
            header=Headers(list(headers.items())),
            cookie=ImmutableMultiDict(_cookies(headers)),
        )

    @property
    def host_url(self) -> str:
        return f"{self._parts.scheme}://{self._parts.netloc}"

    @property
    def path(self) -> str:
        return self._parts.path or "/"

    @property
    def method(self) -> str:
        return self.method_upper.lower()

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "").lower()


class HttpResponse:
    """openapi-core's Response protocol, for a response as received."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = Headers(list(headers.items()))
        self.data = body

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", "")).lower()


def _cookies(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    raw = next((v for k, v in headers.items() if k.lower() == "cookie"), "")
    pairs = (part.strip().partition("=") for part in raw.split(";") if part.strip())
    return [(name, value) for name, _, value in pairs]


class Document:
    """One OpenAPI document: its operations, and the check of a request against them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise ContractError(f"{path}: cannot be read as YAML/JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("paths"), dict):
            raise ContractError(f"{path}: not an OpenAPI document (no 'paths' map)")
        try:
            self.openapi = OpenAPI.from_dict(data, base_uri=path.resolve().as_uri())
        except Exception as exc:  # openapi-spec-validator's errors have no common base beyond Exception
            raise ContractError(f"{path}: not a valid OpenAPI 3.0/3.1 document: {_first_line(exc)}") from exc
        self.data = data  # the document as read ($refs unresolved): the examples responder reads it
        self.operations = list(_operations(path, data["paths"]))
        self._finder = APICallPathFinder(self.openapi.spec)
        self._matched: dict[tuple[str, str], Operation | None] = {}  # (method, url) -> operation

    def find(self, operation_id: str | None = None, method: str | None = None,
             path: str | None = None) -> Operation:
        """The operation named by `operation_id`, or by `method` and path template."""
        for operation in self.operations:
            if operation_id and operation.operation_id == operation_id:
                return operation
            if not operation_id and operation.method == (method or "").upper() and operation.path == path:
                return operation
        known = ", ".join(op.label for op in self.operations) or "none"
        wanted = f"operationId {operation_id!r}" if operation_id else f"{(method or '').upper()} {path}"
        raise ContractError(f"{self.path.name} has no operation {wanted}; its operations: {known}")

    def match(self, method: str, url: str) -> Operation | None:
        """The operation a concrete request hits (path templates matched as openapi-core does)."""
        key = (method.upper(), url.partition("?")[0])
        if key not in self._matched:
            if len(self._matched) >= _MATCH_CACHE_SIZE:  # unique paths per test: keep it bounded
                self._matched.clear()
            self._matched[key] = self._find(*key)
        return self._matched[key]

    def _find(self, method: str, url: str) -> Operation | None:
        try:
            found = self._finder.find(method.lower(), url)
        except PathError:
            return None
        template = found.path_result.pattern
        return next((op for op in self.operations if op.path == template and op.method == method), None)

    def check(self, request: HttpRequest, expected: Operation | None = None,
              mask: Callable[[str], str] = str) -> list[Violation]:
        """What in `request` the document refuses (empty: it conforms). With `expected`, a request
        that hits another operation (or none) is a violation too."""
        hit = self.match(request.method_upper, request.url)
        if expected is not None and hit != expected:
            where = f"{hit.label} ({hit.method} {hit.path})" if hit else "no operation"
            return [Violation("operation", "", mask(
                f"{request.method_upper} {request.path} matches {where} of {self.path.name}, "
                f"not {expected.label} ({expected.method} {expected.path})"))]
        if hit is None:
            return []
        return violations(self.openapi.iter_request_errors(request), mask)

    def check_response(self, request: HttpRequest, response: HttpResponse) -> list[str]:
        """What in `response` (to `request`) the document refuses, in openapi-core's words."""
        return [f"{type(error).__name__}: {error}" + (f" ({error.__cause__})" if error.__cause__ else "")
                for error in self.openapi.iter_response_errors(request, response)]


def _operations(path: Path, paths: Mapping[str, Any]) -> Iterator[Operation]:
    for template, item in paths.items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                yield Operation(path, str(operation.get("operationId") or ""), method.upper(), str(template))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


_cache: dict[tuple[Path, int, int], Document] = {}


def load(path: Path) -> Document:
    """The document at `path`, read once per version of the file (building one costs ~50 ms)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ContractError(f"{path}: no such OpenAPI document ({exc.strerror})") from exc
    key = (path.resolve(), info.st_mtime_ns, info.st_size)
    if key not in _cache:
        _cache[key] = Document(path)
    return _cache[key]


def load_dir(directory: Path) -> list[Document]:
    """Every document in `directory` (the mock API's --contracts)."""
    if not directory.is_dir():
        raise ContractError(f"{directory}: contracts folder not found")
    return [load(p) for p in sorted(directory.iterdir()) if p.suffix in DOCUMENT_SUFFIXES]
