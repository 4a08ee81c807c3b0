"""Render a Template with the caller's params into a concrete HTTP request.

Both inputs are untrusted: the template comes from a database (it is code, run in a
sandbox) and the params from whoever starts the execution (hostile data). What a template
may do, and the caps on its work and output, are in sandbox.py; this module decides where
params may go.

Where params may go:

- url: every `{{ ... }}` output is percent-encoded as one path segment ('/' included), so a
  param cannot add path segments, a query string or a fragment; `.` and `..` are refused
  (the url environment's finalize does this, in sandbox.py). Only the deployment's
  `base_url` is inserted as is (a TrustedUrl). The URL is then rendered again with
  neutral "probe" params (same shape, every string "p", every number 1; then "q" and 2):
  scheme, host and port must come out the same, so string and number params never choose
  the destination, not even through `{% if %}` (bools are kept as they are, so a bool can
  still pick between hosts written in the template). A host containing '%' is refused.
- query: a map; the query string is built from it, so `x&admin=1` stays one value.
- headers: rendered as text; CR, LF and other control characters are refused.
- body: a map or list is rendered leaf by leaf and sent as JSON, so params cannot break the
  JSON; a leaf that is exactly one `{{ expr }}` keeps the value's JSON type (a list stays a
  list). A string body is rendered as text; if it is declared JSON it must parse and keep
  the template's own JSON structure (same keys, in order, and array lengths; only a
  `{{ ... | tojson }}` may put an object, array or string where the template has none);
  see json_body.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from numbers import Number
from typing import Any
from urllib.parse import SplitResult, urlsplit

from jinja2 import Undefined

from .errors import RenderError
from .json_body import check_json_body, declares_json, json_skeleton
from .sandbox import (
    MAX_RENDERED_CHARS,
    Params,
    RenderState,
    TrustedUrl,
    active,
    check_size,
    compile_source,
    current_state,
    render_errors,
    render_string,
    secrets_kept_out_of_errors,
    too_big,
)
from .template import Template

__all__ = ["Params", "RenderedRequest", "TrustedUrl", "check_syntax", "render_request", "template_destination"]

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # HTAB is allowed in a field value
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_DESTINATION_CHANGED = "url: params may not change the destination (scheme, host or port)"
_PROBES = (("p", 1), ("q", 2))  # neutral values for strings and numbers when checking the URL


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str | list[str]] = field(default_factory=dict)
    json_body: Any = None  # sent as JSON when `has_json_body`
    text_body: str | None = None
    has_json_body: bool = False
    secret_values: tuple[str, ...] = ()  # every value secret() returned: redact them from outputs


def check_syntax(template: Template) -> None:
    """Compile every Jinja string in the template as the renderer would; raise InvalidTemplate.

    Compiling (not just parsing) also refuses filters, tests and tags outside the allow-lists,
    and a string body declared as JSON must be JSON once each `{{ }}` is a value.
    """
    for where, source, kind in _template_strings(template):
        compile_source(kind, source, where)
    if isinstance(template.body, str) and declares_json(template.headers):
        json_skeleton(template.body)


def template_destination(template: Template, base_url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) the template calls, whatever the params: for the seed's checks.

    Every param reads as a neutral value; render_request checks at run time that real params
    lead to the same place.
    """
    state = RenderState(template, lambda _name: "p")
    context = {"params": _AnyParams(), "base_url": TrustedUrl(base_url.rstrip("/"))}
    with active(state):
        url = render_string("url", template.url, context, "url")
    _check_url(url)
    return _destination(url)


class _AnyParams(Params):
    """Every param exists and is "p": the seed does not know the caller's params."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: Any) -> str:
        return "p"


# --- rendering ---------------------------------------------------------------------------

def render_request(
    template: Template,
    params: Mapping[str, Any],
    base_url: str,
    secret_resolver: Callable[[str], str] | None = None,
) -> RenderedRequest:
    """Render the template; raise InvalidTemplate, RenderError or SecretNotAllowed on failure.

    `secret_resolver(name)` returns a secret's value for `{{ secret('name') }}`; the values
    used are returned in `secret_values` and are never put in an error message.
    """
    if not isinstance(params, Mapping):
        raise RenderError(f"params must be a map, got {type(params).__name__}")
    state = RenderState(template, secret_resolver)
    context = {"params": Params(params), "base_url": TrustedUrl(base_url.rstrip("/"))}
    with active(state), secrets_kept_out_of_errors(state):
        request = _render_request(template, context, state)
    return replace(request, secret_values=tuple(value for value in dict.fromkeys(state.secrets.values()) if value))


def _render_request(template: Template, context: dict[str, Any], state: RenderState) -> RenderedRequest:
    url = _render_url(template.url, context, state)
    headers = {name: _render_header(name, value, context) for name, value in template.headers.items()}
    query = {key: _render_query_value(key, value, context) for key, value in template.query.items()}
    if template.body is None:
        return RenderedRequest(template.method, url, headers, query)
    if isinstance(template.body, str):
        text = render_string("text", template.body, context, "body")
        if declares_json(headers):
            check_json_body(template.body, text)
        return RenderedRequest(template.method, url, headers, query, text_body=text)
    body = _render_structure(template.body, context, "body")
    return RenderedRequest(template.method, url, headers, query, json_body=body, has_json_body=True)


# --- slots -------------------------------------------------------------------------------

def _render_url(source: str, context: dict[str, Any], state: RenderState) -> str:
    url = render_string("url", source, context, "url")
    _check_url(url)
    # With two different sets of neutral params the template must reach the same place as
    # with the real ones: then the destination depends on the template alone. (Two probes,
    # so a host that merely happens to equal one probe's value is still refused.)
    destination = _destination(url)
    for text, number in _PROBES:
        probe_context = {**context, "params": Params(_probe(context["params"], text, number))}
        if _probe_destination(source, probe_context, state) != destination:
            raise RenderError(_DESTINATION_CHANGED)
    return url


def _probe_destination(source: str, context: dict[str, Any], state: RenderState) -> tuple[Any, ...]:
    try:
        with active(replace(state, steps=0, chars=0)):  # a fresh budget; shares the resolved secrets
            return _destination(render_string("url", source, context, "url"))
    except RenderError as exc:  # e.g. a port that is a param: "p" is no port
        raise RenderError(f"{_DESTINATION_CHANGED}; it cannot be checked with neutral params ({exc})") from exc


def _probe(value: Any, text: str, number: int) -> Any:
    """The params' shape with neutral leaves: strings `text`, numbers `number`; bools and None kept."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {key: _probe(item, text, number) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_probe(item, text, number) for item in value]
    return number if isinstance(value, Number) else text


def _split(url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced IPv6 bracket
        raise RenderError(f"url: rendered URL does not parse: {exc}") from exc


def _destination(url: str) -> tuple[str, str | None, int | None]:
    parts = _split(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise RenderError(f"url: invalid port: {exc}") from exc
    return parts.scheme, parts.hostname, port


def _check_url(url: str) -> None:
    parts = _split(url)
    if parts.scheme not in _ALLOWED_SCHEMES or not parts.hostname:
        raise RenderError(f"url: rendered URL must be absolute http(s), got {url[:200]!r}")
    if "%" in parts.netloc.rpartition("@")[2]:
        raise RenderError("url: the host may not contain '%' (a percent-encoded value)")


def _render_header(name: str, source: str, context: dict[str, Any]) -> str:
    value = render_string("text", source, context, f"headers.{name}")
    if "\r" in value or "\n" in value:
        raise RenderError(f"headers.{name}: a header value may not contain CR or LF")
    if _HEADER_CONTROL.search(value):
        raise RenderError(f"headers.{name}: a header value may not contain control characters")
    return value


def _render_query_value(key: str, value: str | list[str], context: dict[str, Any]) -> str | list[str]:
    if isinstance(value, list):
        return [render_string("text", item, context, f"query.{key}[{i}]") for i, item in enumerate(value)]
    return render_string("text", value, context, f"query.{key}")


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
    return render_string("text", value, context, where)


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
