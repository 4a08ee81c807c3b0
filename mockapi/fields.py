"""Checks of single stub fields, each raising StubError that names the field and the fix."""

import re
from collections.abc import Mapping
from typing import Any

from mockapi.limits import MAX_JSON_DEPTH

# RFC 9110 token: what a header name may be. Anything else (a space, a colon, CR/LF) would let
# a stub write a different header, or a broken response, onto the wire.
_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Response header values: visible ASCII, space and tab. Clients read header bytes as Latin-1,
# so anything else would arrive garbled; CR/LF would end the header early.
_RESPONSE_VALUE_RE = re.compile(r"[\t\x20-\x7e]*")
# Request header values are compared with what aiohttp decoded, which may hold any text but no
# control characters (other than tab).
_REQUEST_VALUE_BAD_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The mock frames every response itself (Content-Length or chunked); a stub's own framing header
# would contradict the body actually sent and desynchronise the client's connection.
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
# A path as it arrives on the wire: printable ASCII, no space, no query or fragment.
_RAW_PATH_RE = re.compile(r"/(?:(?![?#])[\x21-\x7e])*")


class StubError(ValueError):
    """A stub definition is invalid. The message starts with the offending field."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field_name = field_name


def join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise StubError(where or "stub", "must be an object")
    return value


def reject_unknown(obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    # Unknown keys are almost always typos (`stauts`, `pathPatern`); silently ignoring them
    # would make a stub match or answer differently from what its author believes.
    for key in obj:
        if key not in allowed:
            raise StubError(join(where, str(key)), f"unknown field (allowed: {sorted(allowed)})")


def integer(obj: Mapping[str, Any], key: str, where: str, default: int, minimum: int,
            maximum: int | None = None) -> int:
    value = obj.get(key, default)
    # bool is an int subclass; `status: true` is a mistake, not status 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StubError(join(where, key), f"must be an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise StubError(join(where, key), f"must be at most {maximum}")
    return value


def boolean(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise StubError(join(where, key), "must be true or false")
    return value


def raw_path(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise StubError(where, "must be a string starting with /")
    if not _RAW_PATH_RE.fullmatch(value):
        # Stubs match the path as sent; a raw "é" or space never arrives, so it could never match.
        raise StubError(where, f"{value!r} must be the path as sent: printable ASCII, percent-encoded "
                               "(e.g. /caf%C3%A9, /a%20b), without a query string or fragment")
    return value


def headers(value: object, where: str, *, response: bool) -> dict[str, str]:
    """Header name -> value; `response` applies the stricter rules for headers the mock sends."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StubError(where, "must be an object of header name -> value")
    result: dict[str, str] = {}
    for name, header_value in value.items():
        field_name = join(where, str(name))
        if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name):
            raise StubError(field_name, "is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)")
        # YAML turns `Retry-After: 2` into an int; header values are text on the wire anyway.
        if not isinstance(header_value, str | int | float) or isinstance(header_value, bool):
            raise StubError(field_name, "must be a string or number")
        text = str(header_value)
        if response and name.lower() in FRAMING_HEADERS:
            raise StubError(field_name, "is set by the mock from the body it sends; for a body of another "
                                        "size use the oversized or slow_drip fault")
        if response and not _RESPONSE_VALUE_RE.fullmatch(text):
            raise StubError(field_name, "must be printable ASCII (no CR, LF or other control characters; "
                                        "encode other text, e.g. as RFC 8187 or percent-encoding)")
        if not response and _REQUEST_VALUE_BAD_RE.search(text):
            raise StubError(field_name, "must not contain control characters such as CR or LF")
        result[name] = text
    return result


def check_depth(value: object, where: str) -> None:
    """Refuse objects and lists nested deeper than MAX_JSON_DEPTH (walked without recursion)."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping | list):
            if depth > MAX_JSON_DEPTH:
                raise StubError(where or "stub", f"nested more than {MAX_JSON_DEPTH} levels deep")
            children = item.values() if isinstance(item, Mapping) else item
            pending.extend((child, depth + 1) for child in children)
