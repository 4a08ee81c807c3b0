"""A WireMock request pattern: method, one URL matcher, query parameters, headers, body patterns.

`evaluate` scores every criterion (0.0 = matches), so one walk both decides a match and explains
a near miss: which criterion differed, what was expected, what came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockapi.capture import CapturedRequest
from mockapi.fields import StubError, join, mapping, reject_unknown
from mockapi.patterns import PathPattern
from mockapi.replay.matchers import (
    MultiValueMatcher,
    ValueMatcher,
    parse_matcher,
    parse_multi_matcher,
    regex,
    text_distance,
)

NamedMatcher = ValueMatcher | MultiValueMatcher

URL_KEYS = ("url", "urlPath", "urlPathPattern", "urlPattern")
_REQUEST_KEYS = frozenset({"method", *URL_KEYS, "queryParameters", "headers", "bodyPatterns"})


@dataclass(frozen=True)
class Incoming:
    """The parts of a request that patterns look at, prepared once per request."""

    method: str
    url: str  # path and query as sent
    path: str  # as sent, percent-encoded
    query: Mapping[str, list[str]]  # decoded
    headers: Mapping[str, str]  # lower-case names
    body: str

    @classmethod
    def of(cls, captured: CapturedRequest) -> Incoming:
        url = f"{captured.raw_path}?{captured.raw_query}" if captured.raw_query else captured.raw_path
        headers = {name.lower(): value for name, value in captured.headers.items()}
        return cls(captured.method.upper(), url, captured.raw_path, captured.query, headers, captured.body)


@dataclass(frozen=True)
class Difference:
    field: str
    expected: str
    actual: str | None
    distance: float

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual,
                "distance": round(self.distance, 3)}


@dataclass(frozen=True)
class RequestPattern:
    method: str  # upper case, or ANY
    url_key: str | None  # which of URL_KEYS, or None: any URL
    url: str | None
    url_regex: PathPattern | None
    query: tuple[tuple[str, NamedMatcher], ...]
    headers: tuple[tuple[str, NamedMatcher], ...]  # lower-case names
    body: tuple[ValueMatcher, ...]

    def matches(self, request: Incoming) -> bool:
        """The fast path of every request: stops at the first criterion that fails, no distances."""
        if self.method != "ANY" and self.method != request.method:
            return False
        if self.url_key is not None:
            actual = request.path if self.url_key in ("urlPath", "urlPathPattern") else request.url
            if not (self.url_regex.fullmatch(actual) if self.url_regex is not None else self.url == actual):
                return False
        if not all(_accepts(matcher, _values(request, name)) for name, matcher in self.query):
            return False
        if not all(_accepts(matcher, [request.headers.get(name)]) for name, matcher in self.headers):
            return False
        return all(matcher.accepts(request.body) for matcher in self.body)

    def evaluate(self, request: Incoming) -> tuple[float, list[Difference]]:
        """(mean distance over the criteria, the criteria that differ)."""
        scores: list[float] = []
        differences: list[Difference] = []

        def score(field: str, expected: str, actual: str | None, distance: float) -> None:
            scores.append(distance)
            if distance > 0:
                differences.append(Difference(field, expected, actual, distance))

        if self.method != "ANY":
            score("method", self.method, request.method, 0.0 if self.method == request.method else 1.0)
        if self.url_key is not None:
            actual = request.path if self.url_key in ("urlPath", "urlPathPattern") else request.url
            if self.url_regex is not None:
                distance = 0.0 if self.url_regex.fullmatch(actual) else text_distance(self.url_regex.text, actual)
            else:
                distance = text_distance(self.url or "", actual)
            score(self.url_key, self.url_regex.text if self.url_regex else self.url or "", actual, distance)
        for name, matcher in self.query:
            values = _values(request, name)
            score(f"query {name}", matcher.describe, ", ".join(v for v in values if v is not None) or None,
                  _distance(matcher, values))
        for name, matcher in self.headers:
            header = request.headers.get(name)
            score(f"header {name}", matcher.describe, header, _distance(matcher, [header]))
        for matcher in self.body:
            score("body", matcher.describe, request.body, matcher.distance(request.body))
        mean = sum(scores) / len(scores) if scores else 0.0
        return (mean if not differences else max(mean, 1e-6)), differences


def _accepts(matcher: NamedMatcher, values: list[str | None]) -> bool:
    """A single matcher takes a repeated parameter when any of its values matches (as WireMock's)."""
    if isinstance(matcher, MultiValueMatcher):
        return matcher.accepts_values([v for v in values if v is not None])
    return any(matcher.accepts(value) for value in values)


def _distance(matcher: NamedMatcher, values: list[str | None]) -> float:
    if isinstance(matcher, MultiValueMatcher):
        return matcher.distance_values([v for v in values if v is not None])
    return min(matcher.distance(value) for value in values)


def _values(request: Incoming, name: str) -> list[str | None]:
    """A query parameter's values, or [None] when it is absent (what `absent` matches)."""
    values: list[str | None] = list(request.query.get(name) or [])
    return values or [None]


def parse_request_pattern(value: object, where: str) -> RequestPattern:
    obj = mapping(value, where)
    reject_unknown(obj, _REQUEST_KEYS, where)
    method = obj.get("method", "ANY")
    if not isinstance(method, str) or not method.isalpha():
        raise StubError(join(where, "method"), "must be an HTTP method name or ANY")
    given = [key for key in URL_KEYS if key in obj]
    if len(given) > 1:
        raise StubError(where, f"takes at most one of {list(URL_KEYS)}, got {given}")
    url_key = given[0] if given else None
    url = url_regex = None
    if url_key in ("url", "urlPath"):
        url = obj[url_key]
        if not isinstance(url, str) or not url.startswith("/"):
            raise StubError(join(where, url_key), "must be a string starting with /")
    elif url_key is not None:
        url_regex = regex(obj[url_key], join(where, url_key))
    return RequestPattern(
        method=method.upper(),
        url_key=url_key,
        url=url,
        url_regex=url_regex,
        query=_named(obj.get("queryParameters"), join(where, "queryParameters"), lower=False),
        headers=_named(obj.get("headers"), join(where, "headers"), lower=True),
        body=_body_patterns(obj.get("bodyPatterns"), join(where, "bodyPatterns")),
    )


def _named(value: object, where: str, *, lower: bool) -> tuple[tuple[str, NamedMatcher], ...]:
    if value is None:
        return ()
    obj = mapping(value, where)
    return tuple((name.lower() if lower else name, parse_multi_matcher(matcher, join(where, name)))
                 for name, matcher in obj.items())


def _body_patterns(value: object, where: str) -> tuple[ValueMatcher, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise StubError(where, "must be a list of matcher objects")
    return tuple(parse_matcher(item, f"{where}[{index}]", body=True) for index, item in enumerate(value))
