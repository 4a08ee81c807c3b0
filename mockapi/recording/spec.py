"""The body of POST /__admin/recordings/start and /snapshot, as WireMock defines it (the fields that matter).

{"targetBaseUrl": "https://api.example.com", "filters": {"urlPathPattern": "/v1/.*", "method": "GET"},
 "captureHeaders": {"Accept": {}, "X-Tenant": {"caseInsensitive": true}},
 "requestBodyPattern": {"matcher": "equalToJson", "ignoreArrayOrder": false, "ignoreExtraElements": true},
 "repeatsAsScenarios": true, "persist": true,
 "scrub": {"headers": [...], "values": [...], "jsonPaths": [...], "queryParameters": [...]}}   (ours)
WireMock's extractBodyCriteria and outputFormat are accepted and have no effect (bodies are inline).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from mockapi.fields import StubError, boolean, join, mapping, reject_unknown
from mockapi.patterns import PathPattern
from mockapi.recording.scrub import Scrubber, parse_scrub
from mockapi.replay.matchers import regex

_KEYS = frozenset({"targetBaseUrl", "filters", "captureHeaders", "requestBodyPattern", "repeatsAsScenarios",
                   "persist", "scrub", "extractBodyCriteria", "outputFormat"})
_FILTER_KEYS = frozenset({"urlPathPattern", "method"})
_BODY_MATCHERS = frozenset({"auto", "equalToJson", "equalTo"})
_BODY_KEYS = frozenset({"matcher", "ignoreArrayOrder", "ignoreExtraElements", "caseInsensitive"})


@dataclass(frozen=True)
class BodyRule:
    matcher: str = "auto"  # auto: equalToJson for a JSON body, else equalTo
    ignore_array_order: bool = True  # WireMock's defaults for auto
    ignore_extra_elements: bool = True
    case_insensitive: bool = False


@dataclass(frozen=True)
class RecordSpec:
    target: str | None = None  # normalised: no trailing slash
    path_filter: PathPattern | None = None
    method_filter: str | None = None
    capture_headers: Mapping[str, bool] = field(default_factory=dict)  # name -> caseInsensitive
    body_rule: BodyRule = field(default_factory=BodyRule)
    repeats_as_scenarios: bool = True
    persist: bool = True
    scrubber: Scrubber = field(default_factory=Scrubber)

    def selects(self, method: str, path: str) -> bool:
        """Do the filters let this request be recorded (and, while recording, proxied)?"""
        if self.method_filter not in (None, "ANY") and self.method_filter != method.upper():
            return False
        return self.path_filter is None or self.path_filter.fullmatch(path)


def parse_spec(value: object, *, needs_target: bool) -> RecordSpec:
    obj = mapping(value if value is not None else {}, "")
    reject_unknown(obj, _KEYS, "")
    target = obj.get("targetBaseUrl")
    if needs_target:
        target = _target(target)
    elif target is not None:
        raise StubError("targetBaseUrl", "is for /recordings/start; a snapshot reads the recorded exchanges")
    filters = mapping(obj.get("filters") or {}, "filters")
    reject_unknown(filters, _FILTER_KEYS, "filters")
    method = filters.get("method")
    if method is not None and (not isinstance(method, str) or not method.isalpha()):
        raise StubError("filters.method", "must be an HTTP method name or ANY")
    path_filter = regex(filters["urlPathPattern"], "filters.urlPathPattern") if "urlPathPattern" in filters else None
    return RecordSpec(
        target=target,
        path_filter=path_filter,
        method_filter=method.upper() if method else None,
        capture_headers=_capture_headers(obj.get("captureHeaders")),
        body_rule=_body_rule(obj.get("requestBodyPattern")),
        repeats_as_scenarios=boolean({"r": obj.get("repeatsAsScenarios", True)}, "r", "repeatsAsScenarios"),
        persist=boolean({"p": obj.get("persist", True)}, "p", "persist"),
        scrubber=parse_scrub(obj.get("scrub")),
    )


def _target(value: object) -> str:
    if not isinstance(value, str):
        raise StubError("targetBaseUrl", "is required: the base URL of the API to record, e.g. https://api.example.com")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise StubError("targetBaseUrl", f"{value!r} must be an http(s) URL without query or fragment")
    if parts.username or parts.password:
        raise StubError("targetBaseUrl", "must not carry user:password@ (it would be recorded); "
                                         "send credentials in headers, which are scrubbed")
    return value.rstrip("/")


def _capture_headers(value: object) -> dict[str, bool]:
    if value is None:
        return {}
    obj = mapping(value, "captureHeaders")
    found: dict[str, bool] = {}
    for name, options in obj.items():
        options = mapping(options or {}, join("captureHeaders", name))
        reject_unknown(options, frozenset({"caseInsensitive"}), join("captureHeaders", name))
        found[name] = boolean(options, "caseInsensitive", join("captureHeaders", name))
    return found


def _body_rule(value: object) -> BodyRule:
    if value is None:
        return BodyRule()
    obj: Mapping[str, Any] = mapping(value, "requestBodyPattern")
    reject_unknown(obj, _BODY_KEYS, "requestBodyPattern")
    matcher = obj.get("matcher", "auto")
    if matcher not in _BODY_MATCHERS:
        raise StubError("requestBodyPattern.matcher", f"must be one of {sorted(_BODY_MATCHERS)}")
    flags = {key: boolean(obj, key, "requestBodyPattern")
             for key in ("ignoreArrayOrder", "ignoreExtraElements", "caseInsensitive")}
    default = matcher == "auto"  # auto's own defaults; an explicit matcher takes what is written
    return BodyRule(matcher, flags["ignoreArrayOrder"] or (default and "ignoreArrayOrder" not in obj),
                    flags["ignoreExtraElements"] or (default and "ignoreExtraElements" not in obj),
                    flags["caseInsensitive"])
