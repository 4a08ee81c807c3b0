"""Scrubbing: nothing secret reaches a recording, a HAR file or the journal.

Replaced by PLACEHOLDER, before an exchange is kept:
- the whole value of credential headers (CREDENTIAL_HEADERS plus the recording's `headers`);
- every occurrence of a known secret value (`values`: the testbed sends each secret the
  templates resolve, in every form the Lambda's mask knows, generic_api_call/secrets.py);
- the values at configured JSON paths (`jsonPaths`, e.g. `$.password`, `$.items[*].token`) of
  request and response bodies, and configured query parameters (`queryParameters`).
The mapping builder turns PLACEHOLDER into a wildcard, so a scrubbed mapping still matches the
request the replay sends, whatever secret the replay's own store holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, quote

from mockapi.exchange import Exchange, Headers
from mockapi.fields import StubError, join, mapping, reject_unknown

PLACEHOLDER = "__SCRUBBED__"
CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization", "x-api-key"})
_KEYS = frozenset({"headers", "values", "jsonPaths", "queryParameters"})
_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\*|\d+)\]|\['([^']+)'\]")
MIN_VALUE_CHARS = 4  # as the Lambda's MIN_SECRET_CHARS: shorter values would mangle unrelated text


@dataclass(frozen=True)
class Scrubber:
    headers: frozenset[str] = CREDENTIAL_HEADERS
    values: tuple[str, ...] = ()  # longest first: a form may contain another
    json_paths: tuple[tuple[str | int, ...], ...] = ()  # "*" for any list item
    query_parameters: frozenset[str] = field(default_factory=frozenset)

    def text(self, value: str) -> str:
        for secret in self.values:
            if secret in value:
                value = value.replace(secret, PLACEHOLDER)
        return value

    def header_pairs(self, pairs: Iterable[tuple[str, str]]) -> Headers:
        return tuple((name, PLACEHOLDER if name.lower() in self.headers else self.text(value)) for name, value in pairs)

    def url(self, url: str) -> str:
        path, mark, query = url.partition("?")
        if mark and self.query_parameters:
            kept = [(k, PLACEHOLDER if k in self.query_parameters else v)
                    for k, v in parse_qsl(query, keep_blank_values=True)]
            query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in kept)
        return self.text(path + mark + query)

    def body(self, text: str) -> str:
        """JSON: configured paths, then every string, key and number; other text: the known values."""
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            return self.text(text)
        if data is None:
            return self.text(text)
        scrubbed = data
        for steps in self.json_paths:
            scrubbed = _replace_at(scrubbed, steps)
        scrubbed = self.data(scrubbed)
        # Untouched bodies keep their bytes (and so their formatting) in the HAR file.
        return text if scrubbed == data else json.dumps(scrubbed, ensure_ascii=False)

    def body_bytes(self, body: bytes) -> bytes:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body  # binary: no text secret placed by a template can be in it as is
        return self.body(text).encode()

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if value is not None and not isinstance(value, bool) and self.text(json.dumps(value)) != json.dumps(value):
            return PLACEHOLDER  # a digits-only secret sent as a JSON number
        return value

    def learn(self, exchange: Exchange) -> Scrubber:
        """This scrubber, also knowing the values it will take out of `exchange` by name (credential
        headers, JSON paths, query parameters): an upstream that echoes one elsewhere (a body that
        repeats the password it was sent, a token handed back) has it scrubbed there too."""
        found: set[str] = set()
        for name, value in (*exchange.request_headers, *exchange.response_headers):
            if name.lower() in self.headers:
                found.update(_credential_parts(value))
        found.update(value for name, value in exchange.query if name in self.query_parameters)
        for text in (exchange.request_body, exchange.response_body.decode("utf-8", errors="replace")):
            found.update(_values_at(text, self.json_paths))
        new = {value for value in found if len(value) >= MIN_VALUE_CHARS} - set(self.values)
        if not new:
            return self
        return replace(self, values=tuple(sorted({*self.values, *new}, key=len, reverse=True)))

    def exchange(self, exchange: Exchange) -> Exchange:
        return replace(
            exchange,
            url=self.url(exchange.url),
            request_headers=self.header_pairs(exchange.request_headers),
            request_body=self.body(exchange.request_body) if exchange.request_body else "",
            response_headers=self.header_pairs(exchange.response_headers),
            response_body=self.body_bytes(exchange.response_body),
        )


def _credential_parts(value: str) -> set[str]:
    """A credential header's value, and its parts: `Bearer <token>`, `a=1; b=2` cookies."""
    parts = {value.strip()}
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.isalpha():
        parts.add(rest.strip())
    for pair in value.split(";"):
        _name, equals, cookie = pair.partition("=")
        if equals and cookie.strip():
            parts.add(cookie.strip())
    return parts


def _values_at(text: str, paths: tuple[tuple[str | int, ...], ...]) -> set[str]:
    if not paths or not text.strip():
        return set()
    try:
        data = json.loads(text)
    except ValueError:
        return set()
    found: set[str] = set()
    for steps in paths:
        pending: list[tuple[Any, tuple[str | int, ...]]] = [(data, steps)]
        while pending:
            item, rest = pending.pop()
            if not rest:
                if isinstance(item, str | int | float) and not isinstance(item, bool):
                    found.add(str(item))
                continue
            step = rest[0]
            if isinstance(item, dict) and isinstance(step, str) and step in item:
                pending.append((item[step], rest[1:]))
            elif isinstance(item, list) and step == "*":
                pending.extend((child, rest[1:]) for child in item)
            elif isinstance(item, list) and isinstance(step, int) and step < len(item):
                pending.append((item[step], rest[1:]))
    return found


def _replace_at(data: Any, steps: tuple[str | int, ...]) -> Any:
    if not steps:
        return PLACEHOLDER
    step, rest = steps[0], steps[1:]
    if isinstance(data, dict) and isinstance(step, str) and step != "*" and step in data:
        return {**data, step: _replace_at(data[step], rest)}
    if isinstance(data, list):
        if step == "*":
            return [_replace_at(item, rest) for item in data]
        if isinstance(step, int) and step < len(data):
            return [_replace_at(item, rest) if index == step else item for index, item in enumerate(data)]
    return data


def parse_json_path(text: object, where: str) -> tuple[str | int, ...]:
    """`$.a.b`, `$.items[*].token`, `$['odd key'][0]`: the JSONPath subset scrubbing needs."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise StubError(where, "must be a JSON path starting with $, e.g. $.password or $.items[*].token")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        found = _PATH_STEP.match(text, position)
        if found is None:
            raise StubError(where, f"{text!r}: cannot read from character {position} (use .name, [n], [*] or ['name'])")
        name, index, quoted = found.groups()
        steps.append(name if name is not None else quoted if quoted is not None else
                     ("*" if index == "*" else int(index)))
        position = found.end()
    if not steps:
        raise StubError(where, "must name at least one step after $")
    return tuple(steps)


def parse_scrub(value: object, where: str = "scrub") -> Scrubber:
    """The `scrub` field of a recording start: {headers, values, jsonPaths, queryParameters}."""
    if value is None:
        return Scrubber()
    obj = mapping(value, where)
    reject_unknown(obj, _KEYS, where)
    lists = {key: obj.get(key, []) for key in _KEYS}
    for key, items in lists.items():
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise StubError(join(where, key), "must be a list of strings")
    short = [index for index, item in enumerate(lists["values"]) if len(item) < MIN_VALUE_CHARS]
    if short:
        raise StubError(join(where, "values"), f"items {short} are shorter than {MIN_VALUE_CHARS} characters: "
                                               "scrubbing them would mangle unrelated text")
    return Scrubber(
        headers=CREDENTIAL_HEADERS | {name.lower() for name in lists["headers"]},
        values=tuple(sorted(set(lists["values"]), key=len, reverse=True)),
        json_paths=tuple(parse_json_path(path, f"{join(where, 'jsonPaths')}[{index}]")
                         for index, path in enumerate(lists["jsonPaths"])),
        query_parameters=frozenset(lists["queryParameters"]),
    )

