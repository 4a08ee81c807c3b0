"""Compare a normalised execution with what AWS recorded; name each difference's category.

Types are compared strictly (1 is not 1.0 nor true), as the snapshot diff does. A recorded
string may stand for a value that differs by nature: a wildcard of the case (the whole value,
or `<name>` / `<name:N>`), a key-named value under a volatile key ("Date": "date"), or a
placeholder inside a text (`<uuid:1>`, `<request_id>`, `<json-input:1>`, `<test-table>`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# (field of `expected`, category), in the order a case's first difference is named.
FIELDS = (
    ("status", "status"), ("error", "error-name"), ("cause", "cause-text"), ("output", "output"),
    ("event_types", "history-events"), ("states_entered", "states"),
)
CATEGORIES = tuple(category for _, category in FIELDS)
# Header and metadata keys whose value the snapshot replaced by the key's own name.
VOLATILE_KEYS = {"date", "x-amzn-trace-id", "x-amzn-requestid", "requestid", "server", "x-amz-crc32"}
# The snapshot's stand-in for an ISO-8601 timestamp, whatever its key.
DATE = "date"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
PLACEHOLDERS = {
    r"<uuid:\d+>": UUID,
    r"<request_id>": r"[\w-]+",
    r"<json-input:\d+>": r".*",
    # A table name masked by a transformer of the LocalStack test that the case does not carry.
    r"<test-table>": r"[a-zA-Z0-9_.-]+",
}
DETAIL_CHARS = 300


@dataclass(frozen=True)
class Difference:
    category: str
    detail: str


class Matcher:
    def __init__(self, wildcards: list[str]) -> None:
        self.placeholders = dict(PLACEHOLDERS)
        names = "|".join(re.escape(w.strip("<>")) for w in wildcards)
        # A wildcard stands for the whole value: bare, <name> or <name:N>; inside a text, for any run.
        self.wildcard = re.compile(rf"(?:{names})|<(?:{names})(?::\d+)?>") if names else None
        if names:
            self.placeholders[rf"<(?:{names})(?::\d+)?>"] = r".*"
        self.split = re.compile("(" + "|".join(self.placeholders) + ")")

    def wild(self, expected: str, key: str | None) -> bool:
        if self.wildcard is not None and self.wildcard.fullmatch(expected):
            return True
        return key is not None and key.lower() in VOLATILE_KEYS and expected.lower() == key.lower()

    def _pattern_of(self, piece: str) -> str:
        return next(pattern for placeholder, pattern in self.placeholders.items() if re.fullmatch(placeholder, piece))

    def text(self, expected: str, actual: str) -> bool:
        if expected == actual:
            return True
        pieces = self.split.split(expected)
        if len(pieces) == 1:
            return False
        pattern = "".join(self._pattern_of(p) if i % 2 else re.escape(p) for i, p in enumerate(pieces))
        return re.fullmatch(pattern, actual, re.DOTALL) is not None

    def value(self, expected: Any, actual: Any, key: str | None = None) -> bool:
        if isinstance(expected, str):
            if expected == DATE and isinstance(actual, str) and TIMESTAMP.fullmatch(actual):
                return True
            return self.wild(expected, key) or (isinstance(actual, str) and self.text(expected, actual))
        if isinstance(expected, dict):
            return (isinstance(actual, dict) and expected.keys() == actual.keys()
                    and all(self.value(v, actual[k], k) for k, v in expected.items()))
        if isinstance(expected, list):
            return (isinstance(actual, list) and len(expected) == len(actual)
                    and all(self.value(e, a, key) for e, a in zip(expected, actual, strict=True)))
        return type(expected) is type(actual) and expected == actual


def _as_json(value: Any) -> Any:
    """A top-level output kept as text (not an object) is compared as the JSON it holds:
    its spacing is the serialiser's, not the execution's."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def compare(expected: dict[str, Any], actual: dict[str, Any], wildcards: list[str]) -> list[Difference]:
    matcher = Matcher(wildcards)
    found = []
    for name, category in FIELDS:
        if name not in expected:
            continue
        want, got = expected[name], actual.get(name)
        if name == "output":
            want, got = _as_json(want), _as_json(got)
        if not matcher.value(want, got):
            found.append(Difference(category, _detail(want, got)))
    return found


def _detail(want: Any, got: Any) -> str:
    def short(value: Any) -> str:
        shown = json.dumps(value, sort_keys=True, default=str)
        return shown if len(shown) <= DETAIL_CHARS else shown[:DETAIL_CHARS] + "..."

    return f"expected {short(want)} got {short(got)}"
