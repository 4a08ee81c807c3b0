"""JSONPath as Step Functions evaluates it (Jayway JsonPath), for the emulator's patches.

MiniStack's `_resolve_path` reads fields, indexes and wildcards, gives null for a path that
matches nothing and for any path it cannot parse (slices, filters, quoted names with
escapes). AWS, on Jayway JsonPath: a *definite* path (fields and indexes only) that matches
nothing is an error, worded "No results for path: $['a']['b']" when the last step is missing
and "Missing property in path $['a']" when an earlier one is; an *indefinite* path (wildcard,
slice, filter) always gives a list, empty when the data is absent (`$.items[1:]` on `{}`).
A quoted name is taken as written between its quotes: a backslash only keeps a quote from
ending it (`$['a\\"b']` names the key `a\\"b`), as AWS matched in the recorded case.
"""

from __future__ import annotations

import json
import re
from typing import Any

Token = tuple[str, Any]
FILTER = re.compile(
    r"\?\(\s*@((?:\.[A-Za-z_][\w-]*)*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)")
SLICE = re.compile(r"(-?\d*):(-?\d*)(?::(-?\d+))?")


class PathNotFound(Exception):
    """A definite path matched nothing; the message is Jayway's, as AWS quotes it."""


def parse(path: str) -> list[Token] | None:
    """The steps of a `$...` path, or None when it is not one this evaluator reads."""
    if not path.startswith("$"):
        return None
    tokens: list[Token] = []
    pos = 1
    while pos < len(path):
        if path.startswith("..", pos):
            return None  # deep scan: not used by the workflows the testbed runs
        if path[pos] == ".":
            match = re.compile(r"\.(\*|[^.\[]+)").match(path, pos)
            if match is None:
                return None
            name = match.group(1)
            tokens.append(("wildcard", None) if name == "*" else ("field", name))
            pos = match.end()
        elif path[pos] == "[":
            token, pos = _bracket(path, pos + 1)
            if token is None:
                return None
            tokens.append(token)
        else:
            return None
    return tokens


def _bracket(path: str, pos: int) -> tuple[Token | None, int]:
    """The token of the bracket starting after `[` at `pos`, and the position after `]`."""
    if pos < len(path) and path[pos] in "'\"":
        quote, end = path[pos], pos + 1
        while end < len(path) and path[end] != quote:
            end += 2 if path[end] == "\\" else 1
        if not path.startswith("]", end + 1):
            return None, pos
        return ("field", path[pos + 1:end]), end + 2
    close = path.find("]", pos)
    if close < 0:
        return None, pos
    inner = path[pos:close].strip()
    if inner.startswith("?("):  # a filter may hold "]" in a literal: take the last ")]"
        close = path.find(")]", pos) + 1
        inner = path[pos:close].strip()
    if inner == "*":
        return ("wildcard", None), close + 1
    if re.fullmatch(r"-?\d+", inner):
        return ("index", int(inner)), close + 1
    if SLICE.fullmatch(inner):
        return ("slice", inner), close + 1
    if FILTER.fullmatch(inner):
        return ("filter", inner), close + 1
    return None, pos


def definite(tokens: list[Token]) -> bool:
    return all(kind in ("field", "index") for kind, _ in tokens)


def shown(tokens: list[Token]) -> str:
    """The path as Jayway prints it: `$['a'][0][*]`."""
    parts = {"field": "['{}']", "index": "[{}]", "wildcard": "[*]", "slice": "[{}]", "filter": "[{}]"}
    return "$" + "".join(parts[kind].format(value) for kind, value in tokens)


def find(path: str, data: Any) -> Any:
    """What `path` selects in `data`; PathNotFound for a definite path that matches nothing."""
    tokens = parse(path)
    if tokens is None:
        raise PathNotFound(f"Invalid path: {path}")
    if not definite(tokens):
        return _select_all(tokens, data)
    current = data
    for step, (kind, value) in enumerate(tokens):
        found = _step(kind, value, current)
        if found:
            current = found[0]
        elif step == len(tokens) - 1 or kind == "index":
            raise PathNotFound(f"No results for path: {shown(tokens)}")
        else:
            raise PathNotFound(f"Missing property in path {shown(tokens[:step + 1])}")
    return current


def resolve(path: str, data: Any) -> Any:
    """`find`, lenient as MiniStack's `_resolve_path`: null where a definite path matches nothing."""
    if path == "$" or not path or not path.startswith("$"):
        return data
    try:
        return find(path, data)
    except PathNotFound:
        return None


def _select_all(tokens: list[Token], data: Any) -> list[Any]:
    values = [data]
    for kind, value in tokens:
        values = [found for current in values for found in _step(kind, value, current)]
    return values


def _step(kind: str, value: Any, current: Any) -> list[Any]:
    if kind == "field":
        return [current[value]] if isinstance(current, dict) and value in current else []
    if kind == "index":
        ok = isinstance(current, list) and -len(current) <= value < len(current)
        return [current[value]] if ok else []
    members = list(current.values()) if isinstance(current, dict) else current if isinstance(current, list) else []
    if kind == "wildcard":
        return members
    if kind == "slice":
        if not isinstance(current, list):
            return []
        start, stop, step = (int(part) if part else None for part in SLICE.fullmatch(value).groups())  # type: ignore[union-attr]
        return current[slice(start, stop, step)]
    return [member for member in members if _passes(value, member)]


def _passes(expression: str, member: Any) -> bool:
    """Whether `member` passes a filter `?(@.a.b op literal)` (or `?(@.a)`: has that field)."""
    fields, op, literal = FILTER.fullmatch(expression).groups()  # type: ignore[union-attr]
    found = _select_all([("field", name) for name in fields.split(".")[1:]], member)
    if not found:
        return False
    if op is None:
        return True
    try:
        wanted = json.loads(literal.replace("'", '"'))
    except ValueError:
        return False
    left = found[0]
    if op in ("==", "!="):
        same = type(left) is type(wanted) or (_number(left) and _number(wanted))
        return (same and left == wanted) == (op == "==")
    if not ((_number(left) and _number(wanted)) or (isinstance(left, str) and isinstance(wanted, str))):
        return False
    return {"<": left < wanted, "<=": left <= wanted, ">": left > wanted, ">=": left >= wanted}[op]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
