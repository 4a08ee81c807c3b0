"""Checks of a JSON string body: it must keep the template's own JSON structure.

A body written as a JSON string (rather than a map) is rendered as text, so a param could
add keys or close a string. When the request declares JSON, the rendered text must parse
and have the same structure as the template source with each `{{ ... }}` read as a value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import InvalidTemplate, RenderError

_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_ENDS_WITH_TOJSON = re.compile(r"\|\s*tojson\s*(?:\(\s*\))?\s*-?\}\}\Z")


class _JsonObject(list):
    """A JSON object as its (key, value) pairs in order, so a duplicated key stays visible."""


def declares_json(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "content-type" and "json" in v.lower() for k, v in headers.items())


def keeps_json_structure(source: str, template_headers: Mapping[str, str], rendered_headers: Mapping[str, str]) -> bool:
    """Must this string body keep its JSON structure? When the request declares JSON, and also
    when params may choose the Content-Type (it holds Jinja) and the body is written as JSON:
    else a param could declare text/plain to switch the check off and add keys."""
    if declares_json(rendered_headers):
        return True
    chosen = any(k.lower() == "content-type" and ("{{" in v or "{%" in v) for k, v in template_headers.items())
    if not chosen:
        return False
    try:
        json_skeleton(source)
    except InvalidTemplate:
        return False  # not written as JSON (a form body...): nothing to keep
    return True


def json_skeleton(source: str) -> Any:
    """The template's own JSON structure, each `{{ ... }}` standing for one JSON value.

    An expression ending in `|tojson` becomes null (any JSON value may stand there); any
    other becomes 0 (only a number, bool or null may), so without |tojson a param cannot
    turn a value into an object, an array or a string.
    """
    text = _JINJA_EXPRESSION.sub(_skeleton_value, _JINJA_COMMENT.sub("", source))
    try:
        return json.loads(text, object_pairs_hook=_JsonObject)
    except (ValueError, RecursionError) as exc:
        raise InvalidTemplate(
            f"body: a JSON string body must be valid JSON with {{{{ }}}} values; use a map body ({exc})"
        ) from exc


def _skeleton_value(expression: re.Match[str]) -> str:
    return "null" if _ENDS_WITH_TOJSON.search(expression[0]) else "0"


def check_json_body(source: str, text: str) -> None:
    skeleton = json_skeleton(source)
    try:
        rendered = json.loads(text, object_pairs_hook=_JsonObject)
    except (ValueError, RecursionError) as exc:
        raise RenderError(
            f"body: rendered body is declared JSON but does not parse ({exc}); "
            "build JSON bodies as a map, or insert values with |tojson"
        ) from exc
    if not _same_shape(skeleton, rendered):
        raise RenderError(
            "body: params changed the JSON structure of the body (keys or array lengths); "
            "insert values with |tojson, or build the body as a map"
        )


def _same_shape(skeleton: Any, rendered: Any) -> bool:
    if skeleton is None:  # a {{ ... | tojson }} value (or a literal null): any JSON value
        return True
    if isinstance(skeleton, _JsonObject):
        return (
            isinstance(rendered, _JsonObject)
            and [key for key, _ in skeleton] == [key for key, _ in rendered]
            and all(_same_shape(s, r) for (_, s), (_, r) in zip(skeleton, rendered, strict=True))
        )
    if isinstance(skeleton, list):
        return (
            isinstance(rendered, list) and not isinstance(rendered, _JsonObject)
            and len(rendered) == len(skeleton)
            and all(_same_shape(s, r) for s, r in zip(skeleton, rendered, strict=True))
        )
    if isinstance(skeleton, str):  # a string, with or without {{ }} inside
        return isinstance(rendered, str)
    return not isinstance(rendered, list | str)  # any other {{ }} value, or a literal number or bool
