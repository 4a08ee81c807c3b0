"""The API request template: parsed from a DynamoDB item and checked field by field."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from .errors import InvalidTemplate
from .limits import MAX_TEMPLATE_CHARS, text_chars
from .trace import TRACE_HEADERS

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_TIMEOUT_SECONDS = 25.0  # stays below the Lambda's 30 s timeout
# Written by the seed, not by template files: the file the item came from ("<folder>/<file>"),
# read by the next seed, which deletes the item when its file is gone. Not part of the request.
SEEDED_FROM = "seededFrom"
KNOWN_FIELDS = frozenset({
    "PK", "SK", "url", "headers", "query", "body", "timeoutSeconds", "description",
    "secrets", "idempotent", "followRedirects", "propagateTrace", SEEDED_FROM,
})

_deserializer = TypeDeserializer()
# RFC 9110 token: what http.client and requests accept as a header name (anything else
# failed at send time, as a retried UpstreamConnectionError or an unnamed UnicodeEncodeError).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class Template:
    """One request template. `name` and `method` are the item's PK and SK."""

    name: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str | list[str]] = field(default_factory=dict)
    body: Any = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    description: str = ""
    secrets: tuple[str, ...] = ()  # names that {{ secret('name') }} may resolve
    idempotent: bool = False  # POST/PATCH too may be retried (GET, PUT, DELETE... always are)
    follow_redirects: bool = False  # follow up to 3 redirects, each hop checked again
    propagate_trace: bool = True  # send a W3C traceparent header derived from the execution


def from_dynamodb_item(item: Mapping[str, Any]) -> Template:
    """Build a Template from an item in attribute-value form, as `getItem` returns it."""
    if not isinstance(item, Mapping):
        raise InvalidTemplate(f"template item must be a map, got {type(item).__name__}")
    try:
        plain = {key: _deserializer.deserialize(value) for key, value in item.items()}
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:  # decimal.Inexact, Overflow
        raise InvalidTemplate(f"template item is not in DynamoDB attribute-value form: {exc!r}") from exc
    return from_plain(plain)


def from_plain(data: Mapping[str, Any]) -> Template:
    """Build a Template from plain Python data (a seed file, or a deserialised item)."""
    data = _plain_numbers(dict(data))
    unknown = sorted(set(data) - KNOWN_FIELDS, key=repr)  # a YAML file may have non-string keys
    if unknown:
        raise InvalidTemplate(f"unknown field(s) {unknown}; allowed: {sorted(KNOWN_FIELDS)}")
    name = _require_str(data, "PK")
    method = _require_str(data, "SK").upper()
    if method not in HTTP_METHODS:
        raise InvalidTemplate(f"field 'SK' must be an HTTP method, one of {sorted(HTTP_METHODS)}; got {method!r}")
    url = _require_str(data, "url")
    headers = _optional_map(data, "headers")
    for key, value in headers.items():
        if not _HEADER_NAME.fullmatch(key):
            raise InvalidTemplate(
                f"field 'headers' has the name {key!r}: a header name is letters, digits and !#$%&'*+-.^_`|~ only")
        if key.lower() in TRACE_HEADERS:
            raise InvalidTemplate(
                f"field 'headers' has the name {key!r}: the Lambda sets traceparent and tracestate itself, from the "
                "execution (propagateTrace: false sends none); remove it")
        if not isinstance(value, str):
            raise InvalidTemplate(f"field 'headers.{key}' must be a string")
    query = _optional_map(data, "query")
    for key, value in query.items():
        if not isinstance(value, str) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise InvalidTemplate(f"field 'query.{key}' must be a string or a list of strings")
    body = data.get("body")
    if body is not None and not isinstance(body, str | dict | list):
        raise InvalidTemplate("field 'body' must be a string, a map or a list")
    _check_json_like(body, "body")
    size = text_chars({"url": url, "headers": headers, "query": query, "body": body})
    if size > MAX_TEMPLATE_CHARS:
        raise InvalidTemplate(
            f"fields 'url', 'headers', 'query' and 'body' are {size} characters of JSON together, over the "
            f"limit of {MAX_TEMPLATE_CHARS} (each is compiled before it renders): keep large static data out "
            "of the template, e.g. pass it in params")
    timeout = data.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise InvalidTemplate("field 'timeoutSeconds' must be a number")
    if not 0 < timeout <= MAX_TIMEOUT_SECONDS:
        raise InvalidTemplate(f"field 'timeoutSeconds' must be in (0, {MAX_TIMEOUT_SECONDS}]")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise InvalidTemplate("field 'description' must be a string")
    secrets = data.get("secrets") or []
    if not isinstance(secrets, list) or not all(isinstance(n, str) and n.strip() for n in secrets):
        raise InvalidTemplate("field 'secrets' must be a list of secret names")
    for flag in ("idempotent", "followRedirects", "propagateTrace"):
        if not isinstance(data.get(flag, False), bool):
            raise InvalidTemplate(f"field '{flag}' must be true or false")
    return Template(
        name=name,
        method=method,
        url=url,
        headers=dict(headers),
        query=dict(query),
        body=body,
        timeout_seconds=float(timeout),
        description=description,
        secrets=tuple(secrets),
        idempotent=data.get("idempotent", False),
        follow_redirects=data.get("followRedirects", False),
        propagate_trace=data.get("propagateTrace", True),
    )


MAX_BODY_DEPTH = 32  # DynamoDB's limit for nested maps and lists


def _check_json_like(value: Any, where: str) -> None:
    """A map/list body is JSON: string keys, finite numbers, nesting within DynamoDB's 32 levels."""
    pending: list[tuple[Any, str, int]] = [(value, where, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, dict | list) and depth >= MAX_BODY_DEPTH:
            raise InvalidTemplate(f"field '{path}' is nested over {MAX_BODY_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str) or not key:
                    raise InvalidTemplate(
                        f"field '{path}' has the key {key!r}: map keys must be non-empty strings (quote it)")
                pending.append((child, f"{path}.{key}", depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidTemplate(f"field '{path}' is {item}: JSON and DynamoDB need a finite number")
        elif not isinstance(item, str | bool | int | float | Decimal) and item is not None:
            raise InvalidTemplate(
                f"field '{path}' holds a {type(item).__name__}: only strings, numbers, true/false, null, "
                "lists and maps (quote dates)")


def _require_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        raise InvalidTemplate(f"missing required field '{key}'")
    if not isinstance(value, str) or not value.strip():
        raise InvalidTemplate(f"field '{key}' must be a non-empty string")
    return value


def _optional_map(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise InvalidTemplate(f"field '{key}' must be a map with string keys")
    return value


def _plain_numbers(value: Any) -> Any:
    """DynamoDB numbers arrive as Decimal; JSON and `requests` want int or float."""
    if isinstance(value, Decimal):  # (not finite: a float, which the field checks refuse)
        return int(value) if value.is_finite() and value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain_numbers(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain_numbers(v) for v in value]
    return value
