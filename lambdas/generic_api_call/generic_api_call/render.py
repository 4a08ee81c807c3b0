"""Render a Template with the caller's params into the Request that will be sent.

Both inputs are untrusted: the template comes from a database (it is code, run in a
sandbox) and the params from whoever starts the execution (hostile data). What a template
may do, and the caps on its work and output, are in sandbox.py and budget.py; this module decides where
params may go.

Where params may go:

- url: params never choose the destination, by construction: the url must start with
  `{{ base_url }}` or a literal `http(s)://host[:port]` (destinations.static_origin, the one
  check shared by validation, the seed and run time), and the rendered URL must reach that
  origin. Every `{{ ... }}` output is percent-encoded as one path segment ('/' included),
  so a param cannot add path segments, a query string or a fragment; `.` and `..` are
  refused (the url environment's finalize does this, in sandbox.py). Only the deployment's
  `base_url` is inserted as is (a TrustedUrl).
- query: a map; the query string is built from it, so `x&admin=1` stays one value.
- headers: rendered as text; the value must be latin-1 with no control characters and no
  leading whitespace (what http.client and requests accept), else RenderError.
- body: a map or list is rendered leaf by leaf and sent as JSON, so params cannot break the
  JSON; a leaf that is exactly one `{{ expr }}` keeps the value's JSON type (a list stays a
  list). A string body is rendered as text; if it is declared JSON (or is written as JSON
  and params may choose its Content-Type, see json_body.keeps_json_structure) it must parse and keep
  the template's own JSON structure (same keys, in order, and array lengths; only a
  `{{ ... | tojson }}` may put an object, array or string where the template has none);
  see json_body.py.
Every rendered string must be encodable as UTF-8 (no lone surrogates), else RenderError.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import Undefined

from . import destinations
from .budget import RenderState, active, check_size, current_state, too_big
from .compiling import compile_source, render_errors, render_string, secrets_used
from .errors import RenderError, SecretNotAllowed
from .json_body import check_json_body, declares_json, json_skeleton, keeps_json_structure
from .limits import MAX_JSON_DEPTH, MAX_RENDERED_CHARS, json_depth_within
from .request import Request, with_query
from .sandbox import Params, TrustedUrl
from .secrets import Resolver, Secrets
from .template import Template

__all__ = ["Params", "Request", "TrustedUrl", "check_syntax", "render_request", "template_destination"]

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # HTAB is allowed in a field value
_DESTINATION_CHANGED = "url: params may not change the destination (scheme, host or port)"


def check_syntax(template: Template) -> None:
    """Check a template as the renderer will use it; raise InvalidTemplate (SecretNotAllowed).

    The url's origin must be fixed by its text (destinations.static_origin); every Jinja
    string must compile (which also refuses filters, tests and tags outside the
    allow-lists, and a secret not placed whole); each secret named must be in `secrets`;
    a string body declared as JSON must be JSON once each `{{ }}` is a value.
    """
    destinations.static_origin(template.url, None)
    for where, source, kind in _template_strings(template):
        for name in sorted(secrets_used(kind, source, where)):
            if name not in template.secrets:
                raise SecretNotAllowed(
                    f"{where}: template {template.name!r} may not use secret {name!r}: it is not in its 'secrets' list")
    if isinstance(template.body, str) and declares_json(template.headers):
        json_skeleton(template.body)


def template_destination(template: Template, base_url: str) -> destinations.Origin:
    """The origin the template calls, whatever the params: for the seed's checks."""
    origin = destinations.static_origin(template.url, base_url)
    assert origin is not None  # base_url is given
    return origin


# --- rendering ---------------------------------------------------------------------------

def render_request(
    template: Template,
    params: Mapping[str, Any],
    base_url: str,
    secret_resolver: Resolver | None = None,
    *,
    secrets: Secrets | None = None,
) -> Request:
    """Render the template; raise InvalidTemplate, RenderError or SecretNotAllowed on failure.

    `secret_resolver(name)` returns a secret's value for `{{ secret('name') }}` (or pass
    `secrets`, to keep them when rendering fails); the values used are kept in the
    Request's `secrets`, which masks them. Error messages may hold them: mask before they
    leave (handler.prepare_request does).
    """
    if not isinstance(params, Mapping):
        raise RenderError(f"params must be a map, got {type(params).__name__}")
    origin = destinations.static_origin(template.url, base_url)
    if secrets is None:
        secrets = Secrets(template.name, template.secrets, secret_resolver)
    context = {"params": Params(params), "base_url": TrustedUrl(base_url.rstrip("/"))}
    with active(RenderState(secrets)):
        url = _render_url(template.url, context, origin)
        headers = {name: _render_header(name, value, context) for name, value in template.headers.items()}
        query = {key: _render_query_value(key, value, context) for key, value in template.query.items()}
        body = _render_body(template, context, headers)
    return Request(template.method, with_query(url, query), headers, body, secrets)


def _render_body(template: Template, context: dict[str, Any], headers: dict[str, str]) -> str | None:
    if template.body is None:
        return None
    if isinstance(template.body, str):
        text = _encodable("body", render_string("text", template.body, context, "body"))
        if keeps_json_structure(template.body, template.headers, headers):
            check_json_body(template.body, text)
        return text
    body = _render_structure(template.body, context, "body")
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"  # as requests' json= does
    try:
        return json.dumps(body, allow_nan=False)  # as requests' json= does (ASCII escapes)
    except ValueError as exc:
        raise RenderError(f"body: not valid JSON ({exc})") from exc


# --- slots -------------------------------------------------------------------------------

def _render_url(source: str, context: dict[str, Any], origin: destinations.Origin | None) -> str:
    url = _encodable("url", render_string("url", source, context, "url"))
    if destinations.origin_of(url) != origin:  # cannot happen when static_origin holds: a backstop
        raise RenderError(_DESTINATION_CHANGED)
    return url


def _encodable(where: str, text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RenderError(f"{where}: the value is not valid Unicode (a lone surrogate)") from None
    return text


def _render_header(name: str, source: str, context: dict[str, Any]) -> str:
    value = render_string("text", source, context, f"headers.{name}")
    if "\r" in value or "\n" in value:
        raise RenderError(f"headers.{name}: a header value may not contain CR or LF")
    if _HEADER_CONTROL.search(value):
        raise RenderError(f"headers.{name}: a header value may not contain control characters")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise RenderError(f"headers.{name}: a header value must be latin-1 text (percent-encode it)") from None
    if value[:1].isspace():
        raise RenderError(f"headers.{name}: a header value may not start with whitespace")
    return value


def _render_query_value(key: str, value: str | list[str], context: dict[str, Any]) -> str | list[str]:
    if isinstance(value, list):
        return [
            _encodable(f"query.{key}[{i}]", render_string("text", item, context, f"query.{key}[{i}]"))
            for i, item in enumerate(value)
        ]
    return _encodable(f"query.{key}", render_string("text", value, context, f"query.{key}"))


def _render_structure(value: Any, context: dict[str, Any], where: str) -> Any:
    # Keys are never rendered: the template alone decides which keys the body has.
    if isinstance(value, dict):
        return {key: _render_structure(item, context, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_render_structure(item, context, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    expression = _single_expression(value)
    if expression is not None:
        return _evaluate(expression, context, where)
    return _encodable(where, render_string("text", value, context, where))


def _single_expression(source: str) -> str | None:
    match = _SINGLE_EXPRESSION.match(source)
    if match and "{{" not in match["expr"] and "}}" not in match["expr"]:
        return match["expr"]
    return None


def _evaluate(source: str, context: dict[str, Any], where: str) -> Any:
    """Evaluate one Jinja expression to a native value, so a list param stays a list."""
    expression = compile_source("expression", source, where)
    with render_errors(where):
        result = expression(**context)
        if isinstance(result, Undefined):
            str(result)  # raises UndefinedError with Jinja's own message
        check_size(result, printing=True)
    # Checked, not left to RecursionError: the recursion limit is the process's (a library may raise it).
    if not json_depth_within(result):
        raise RenderError(f"{where}: value is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        text = json.dumps(result)
    except (TypeError, ValueError, RecursionError) as exc:
        raise RenderError(f"{where}: value is not JSON-serialisable: {exc}") from exc
    if len(text) > MAX_RENDERED_CHARS:
        raise RenderError(f"{where}: {too_big()}")
    with render_errors(where):
        current_state().add_output(len(text))
    return json.loads(text)


# --- template strings --------------------------------------------------------------------

def _template_strings(template: Template) -> list[tuple[str, str, str]]:
    """(where, source, kind) for every Jinja string, compiled the way the renderer will."""
    found: list[tuple[str, str, str]] = [("url", template.url, "url")]
    found += [(f"headers.{k}", v, "text") for k, v in template.headers.items()]
    for key, value in template.query.items():
        values = value if isinstance(value, list) else [value]
        found += [(f"query.{key}", v, "text") for v in values]
    if isinstance(template.body, str):
        found.append(("body", template.body, "text"))
    else:
        _walk_body(template.body, "body", found)
    return found


def _walk_body(value: Any, where: str, found: list[tuple[str, str, str]]) -> None:
    if isinstance(value, str):
        expression = _single_expression(value)
        found.append((where, value, "text") if expression is None else (where, expression, "expression"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _walk_body(item, f"{where}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk_body(item, f"{where}[{i}]", found)
