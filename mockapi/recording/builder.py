"""Recorded exchanges -> WireMock stub mappings (JSON), as WireMock's recorder shapes them.

- request: method and `url` (path and query as sent); `urlPattern` where a value was scrubbed;
  the `captureHeaders` only; the body by `requestBodyPattern`.
- response: status, headers, and `jsonBody` for JSON (readable in a diff), else `body`, or
  `base64Body` for bytes that are not text.
- a request recorded more than once: with `repeatsAsScenarios`, a scenario that serves the
  responses in the order recorded (the last repeats); without, the first response only.
Ids are derived from the request and its position, so recording the same traffic again writes
the same file names and a diff shows only what changed.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from mockapi.exchange import Exchange, is_json_media_type
from mockapi.recording.scrub import PLACEHOLDER
from mockapi.recording.spec import RecordSpec
from mockapi.replay.json_equal import ANY_STRING, REGEX_PREFIX

_WILDCARD = ".+"
# Not worth replaying: hop-by-hop and framing (the mock sets its own), and per-response noise.
_SKIPPED_RESPONSE_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length",
                                       "content-encoding", "date", "server"})
_NAME_CHARS = re.compile(r"[^A-Za-z0-9]+")


def _pattern(text: str) -> str:
    """A regex matching `text` with each PLACEHOLDER standing for any non-empty value."""
    return _WILDCARD.join(re.escape(part) for part in text.split(PLACEHOLDER))


def _value_matcher(value: str, case_insensitive: bool = False) -> dict[str, Any]:
    if PLACEHOLDER in value:
        return {"matches": _pattern(value)}
    return {"equalTo": value, "caseInsensitive": True} if case_insensitive else {"equalTo": value}


def _json_placeholders(value: Any) -> Any:
    if isinstance(value, str) and PLACEHOLDER in value:
        return ANY_STRING if value == PLACEHOLDER else REGEX_PREFIX + _pattern(value)
    if isinstance(value, dict):
        return {k: _json_placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_placeholders(v) for v in value]
    return value


def request_pattern(exchange: Exchange, spec: RecordSpec) -> dict[str, Any]:
    request: dict[str, Any] = {"method": exchange.method}
    if PLACEHOLDER in exchange.url:
        request["urlPattern"] = _pattern(exchange.url)
    else:
        request["url"] = exchange.url
    headers = {}
    for name, case_insensitive in spec.capture_headers.items():
        value = exchange.header(name, response=False)
        if value is not None:
            headers[name] = _value_matcher(value, case_insensitive)
    if headers:
        request["headers"] = headers
    if exchange.request_body:
        request["bodyPatterns"] = [_body_pattern(exchange.request_body, spec)]
    return request


def _body_pattern(body: str, spec: RecordSpec) -> dict[str, Any]:
    rule = spec.body_rule
    parsed: Any = None
    if rule.matcher in ("auto", "equalToJson"):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    if parsed is not None or (rule.matcher == "equalToJson" and body.strip() == "null"):
        pattern: dict[str, Any] = {"equalToJson": _json_placeholders(parsed)}
        if rule.ignore_array_order:
            pattern["ignoreArrayOrder"] = True
        if rule.ignore_extra_elements:
            pattern["ignoreExtraElements"] = True
        return pattern
    return _value_matcher(body, rule.case_insensitive)


def response_definition(exchange: Exchange) -> dict[str, Any]:
    response: dict[str, Any] = {"status": exchange.status}
    body = exchange.response_body
    if body:
        text = _text(body)
        if text is None:
            response["base64Body"] = base64.b64encode(body).decode("ascii")
        elif is_json_media_type(exchange.response_media_type) and _is_json(text):
            response["jsonBody"] = json.loads(text)
        else:
            response["body"] = text
    headers: dict[str, Any] = {}
    for name, value in exchange.response_headers:
        if name.lower() in _SKIPPED_RESPONSE_HEADERS:
            continue
        if name in headers:  # a repeated header: WireMock writes a list
            previous = headers[name]
            headers[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[name] = value
    if headers:
        response["headers"] = headers
    return response


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def mapping_name(exchange: Exchange) -> str:
    """WireMock's style: the path's words joined by `_` (e.g. `users_42`), `root` for `/`."""
    name = _NAME_CHARS.sub("_", exchange.path).strip("_").lower()
    return name[:100] or "root"


def build_mappings(exchanges: Sequence[Exchange], spec: RecordSpec) -> tuple[list[dict[str, Any]], list[str | None]]:
    """(the mappings, and for each exchange the id of the mapping it became, or None when dropped)."""
    groups: dict[str, list[int]] = {}
    patterns: list[dict[str, Any]] = []
    for index, exchange in enumerate(exchanges):
        pattern = request_pattern(exchange, spec)
        patterns.append(pattern)
        groups.setdefault(json.dumps(pattern, sort_keys=True), []).append(index)
    mappings: list[dict[str, Any]] = []
    ids: list[str | None] = [None] * len(exchanges)
    for number, (key, members) in enumerate(groups.items(), start=1):
        if len(members) > 1 and not spec.repeats_as_scenarios:
            members = members[:1]
        first = exchanges[members[0]]
        name = mapping_name(first)
        # WireMock's recorder names scenarios so: scenario-1-api-counter.
        scenario = f"scenario-{number}-{name.replace('_', '-')}" if len(members) > 1 else None
        for step, index in enumerate(members, start=1):
            mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}#{step}"))
            found: dict[str, Any] = {"id": mapping_id, "name": name, "request": patterns[index],
                                     "response": response_definition(exchanges[index])}
            if scenario:
                found["scenarioName"] = scenario
                found["requiredScenarioState"] = "Started" if step == 1 else f"{scenario}-{step}"
                if step < len(members):
                    found["newScenarioState"] = f"{scenario}-{step + 1}"
            mappings.append(found)
            ids[index] = mapping_id
    return mappings, ids
