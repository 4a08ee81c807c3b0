"""Drift: send a recording's requests to the live API again and report, per mapping, what changed.

Compared: the status, the headers that matter (Content-Type's media type, and any named with
--compare-header), and the JSON body's shape: keys and types, never values (values change
legitimately, and they may be secret). Scrubbed request headers are filled from environment
variables the caller names (`--header-env X-Api-Key=API_KEY`); a request still holding a scrubbed
value elsewhere is reported as not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from mockapi.exchange import Exchange
from mockapi.har import exchanges, mapping_ids
from mockapi.recording.scrub import PLACEHOLDER

TIMEOUT_S = 30.0
_NOT_SENT = frozenset({"host", "content-length", "connection", "transfer-encoding", "accept-encoding"})


def shape(value: Any) -> Any:
    """Keys and types: {"id": "number", "tags": ["string"]}; a list's shape is its items' shapes merged."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        shapes = []
        for item in value:
            found = shape(item)
            if found not in shapes:
                shapes.append(found)
        return shapes
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def shape_changes(before: Any, after: Any, path: str = "$") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        changes = [f"{path}.{key}: removed" for key in before if key not in after]
        changes += [f"{path}.{key}: added ({_kind(after[key])})" for key in after if key not in before]
        for key in before:
            if key in after:
                changes += shape_changes(before[key], after[key], f"{path}.{key}")
        return changes
    if isinstance(before, list) and isinstance(after, list):
        if before and after and len(before) == 1 and len(after) == 1:
            return shape_changes(before[0], after[0], f"{path}[*]")
        return [] if before == after or not before or not after else [f"{path}[*]: item shapes changed"]
    return [] if _kind(before) == _kind(after) else [f"{path}: {_kind(before)} -> {_kind(after)}"]


def _kind(shaped: Any) -> str:
    return "object" if isinstance(shaped, dict) else "array" if isinstance(shaped, list) else str(shaped)


@dataclass
class Check:
    mapping_id: str | None
    request: str  # METHOD /path (no query: it may hold a value)
    changes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def drifted(self) -> bool:
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {"mappingId": self.mapping_id, "request": self.request, "drifted": self.drifted,
                "changes": self.changes, "skipped": self.skipped}


def _body_shape(body: bytes) -> Any:
    try:
        return shape(json.loads(body)) if body.strip() else None
    except ValueError:
        return None


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def check(exchange: Exchange, mapping_id: str | None, target: str, header_values: Mapping[str, str],
          compare_headers: tuple[str, ...]) -> Check:
    result = Check(mapping_id, f"{exchange.method} {exchange.path}")
    headers = {name: header_values.get(name.lower(), value) for name, value in exchange.request_headers
               if name.lower() not in _NOT_SENT}
    unfilled = [name for name, value in headers.items() if PLACEHOLDER in value]
    if unfilled or PLACEHOLDER in exchange.url or PLACEHOLDER in exchange.request_body:
        where = f"headers {', '.join(unfilled)}" if unfilled else "its URL or body"
        result.skipped = f"not checked: {where} held a scrubbed value (give headers with --header-env NAME=VAR)"
        return result
    try:
        live = requests.request(exchange.method, target.rstrip("/") + exchange.url, headers=headers,
                                data=exchange.request_body.encode() or None, allow_redirects=False, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        result.changes.append(f"no answer: {type(exc).__name__}")
        return result
    if live.status_code != exchange.status:
        result.changes.append(f"status {exchange.status} -> {live.status_code}")
    for name in ("Content-Type", *compare_headers):
        before, after = exchange.header(name), live.headers.get(name)
        if name.lower() == "content-type":
            before, after = _media_type(before), _media_type(after)
        elif before is not None and after is not None:
            continue  # present in both: the value of a header other than Content-Type may vary
        if before != after:
            result.changes.append(f"header {name}: {_shown(before)} -> {_shown(after)}")
    result.changes += shape_changes(_body_shape(exchange.response_body), _body_shape(live.content))
    return result


def _shown(value: str | None) -> str:
    return "absent" if value is None else "present" if value and "/" not in value else repr(value)


def verify(har: dict[str, Any], target: str | None, header_values: Mapping[str, str],
           compare_headers: tuple[str, ...] = ()) -> list[Check]:
    """One check per mapping (the first exchange recorded for it), in recording order."""
    checks: list[Check] = []
    seen: set[str | None] = set()
    for exchange, mapping_id in zip(exchanges(har), mapping_ids(har), strict=True):
        if mapping_id is not None and mapping_id in seen:
            continue
        seen.add(mapping_id)
        checks.append(check(exchange, mapping_id, target or exchange.target,
                            {k.lower(): v for k, v in header_values.items()}, compare_headers))
    return checks
