"""Render a Template with the caller's params into a concrete HTTP request.

The template comes from a database and the params from whoever starts the execution, so
both are untrusted: rendering happens in Jinja's immutable sandbox with StrictUndefined,
and each part of the request is rendered in the way that keeps params in their slot:

- url: every `{{ ... }}` output is percent-encoded as one path segment ('/' included), so a
  param cannot add path segments, a query string or change the host. Only the deployment's
  `base_url` is inserted as is.
- query: a map; the query string is built from it, so `x&admin=1` stays one value.
- headers: rendered as text; CR or LF is refused (no header injection).
- body: a map or list is rendered leaf by leaf and sent as JSON, so params cannot break the
  JSON; a leaf that is exactly one `{{ expr }}` keeps the value's JSON type (a list stays a
  list). A string body is rendered as text, and must parse if it is declared as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import InvalidTemplate, RenderError
from .template import Template

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_ALLOWED_SCHEMES = frozenset({"http", "https"})


class TrustedUrl(str):
    """A value inserted into a URL without encoding: only the deployment's base URL."""


@dataclass(frozen=True)
class RenderedRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str | list[str]] = field(default_factory=dict)
    json_body: Any = None  # sent as JSON when `has_json_body`
    text_body: str | None = None
    has_json_body: bool = False


def _encode_url_value(value: Any) -> str:
    if isinstance(value, TrustedUrl):
        return str(value)
    text = str(value)  # StrictUndefined raises UndefinedError here
    if text in {".", ".."}:
        raise RenderError(f"a URL value may not be {text!r}: it would change the path")
    return quote(text, safe="")


class Params(dict):
    """The caller's params; a missing one is reported by name."""


class _Environment(ImmutableSandboxedEnvironment):
    def getattr(self, obj: Any, attribute: str) -> Any:
        # For maps, `a.b` means the key "b" only: `params.items` is the param named
        # "items", never dict.items, and no dict method is reachable from a template.
        if isinstance(obj, dict):
            if attribute in obj:
                return obj[attribute]
            hint = f"missing param '{attribute}'" if isinstance(obj, Params) else None
            return self.undefined(hint=hint, obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _environment(*, url: bool = False) -> ImmutableSandboxedEnvironment:
    return _Environment(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_encode_url_value if url else None,
    )


_TEXT_ENV = _environment()
_URL_ENV = _environment(url=True)


def check_syntax(template: Template) -> None:
    """Parse every Jinja string in the template; raise InvalidTemplate on the first that fails."""
    for where, source in _template_strings(template):
        try:
            _TEXT_ENV.parse(source)
        except TemplateSyntaxError as exc:
            raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message} (line {exc.lineno})") from exc


def render_request(template: Template, params: Mapping[str, Any], base_url: str) -> RenderedRequest:
    """Render the template; raise InvalidTemplate or RenderError on failure."""
    if not isinstance(params, Mapping):
        raise RenderError(f"params must be a map, got {type(params).__name__}")
    context = {"params": Params(params), "base_url": TrustedUrl(base_url.rstrip("/"))}
    url = _render(_URL_ENV, template.url, context, "url")
    _check_url(url)
    headers = {name: _render_header(name, value, context) for name, value in template.headers.items()}
    query = {key: _render_query_value(key, value, context) for key, value in template.query.items()}
    if template.body is None:
        return RenderedRequest(template.method, url, headers, query)
    if isinstance(template.body, str):
        text = _render(_TEXT_ENV, template.body, context, "body")
        if _declares_json(headers):
            _require_json(text)
        return RenderedRequest(template.method, url, headers, query, text_body=text)
    body = _render_structure(template.body, context, "body")
    return RenderedRequest(template.method, url, headers, query, json_body=body, has_json_body=True)


def _render(env: ImmutableSandboxedEnvironment, source: str, context: dict[str, Any], where: str) -> str:
    try:
        return env.from_string(source).render(context)
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message}") from exc
    except TemplateError as exc:  # UndefinedError, SecurityError, ...
        raise RenderError(f"{where}: {exc.message or type(exc).__name__}") from exc
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _render_header(name: str, source: str, context: dict[str, Any]) -> str:
    value = _render(_TEXT_ENV, source, context, f"headers.{name}")
    if "\r" in value or "\n" in value:
        raise RenderError(f"headers.{name}: a header value may not contain CR or LF")
    return value


def _render_query_value(key: str, value: str | list[str], context: dict[str, Any]) -> str | list[str]:
    if isinstance(value, list):
        return [_render(_TEXT_ENV, item, context, f"query.{key}[{i}]") for i, item in enumerate(value)]
    return _render(_TEXT_ENV, value, context, f"query.{key}")


def _render_structure(value: Any, context: dict[str, Any], where: str) -> Any:
    # Keys are never rendered: the template alone decides which keys the body has.
    if isinstance(value, dict):
        return {key: _render_structure(item, context, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_render_structure(item, context, f"{where}[{i}]") for i, item in enumerate(value)]
    if not isinstance(value, str):
        return value
    match = _SINGLE_EXPRESSION.match(value)
    if match and "{{" not in match["expr"] and "}}" not in match["expr"]:
        return _evaluate(match["expr"], context, where)
    return _render(_TEXT_ENV, value, context, where)


def _evaluate(expression: str, context: dict[str, Any], where: str) -> Any:
    """Evaluate one Jinja expression to a native value, so a list param stays a list."""
    try:
        result = _TEXT_ENV.compile_expression(expression, undefined_to_none=False)(**context)
        if isinstance(result, Undefined):
            str(result)  # raises UndefinedError with Jinja's own message
    except TemplateSyntaxError as exc:
        raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message}") from exc
    except TemplateError as exc:
        raise RenderError(f"{where}: {exc.message or type(exc).__name__}") from exc
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        raise RenderError(f"{where}: value is not JSON-serialisable: {exc}") from exc


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in _ALLOWED_SCHEMES or not parts.hostname:
        raise RenderError(f"url: rendered URL must be absolute http(s), got {url[:200]!r}")


def _declares_json(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "content-type" and "json" in v.lower() for k, v in headers.items())


def _require_json(text: str) -> None:
    try:
        json.loads(text)
    except ValueError as exc:
        raise RenderError(
            f"body: rendered body is declared JSON but does not parse ({exc}); "
            "build JSON bodies as a map, or insert values with |tojson"
        ) from exc


def _template_strings(template: Template) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = [("url", template.url)]
    found += [(f"headers.{k}", v) for k, v in template.headers.items()]
    for key, value in template.query.items():
        values = value if isinstance(value, list) else [value]
        found += [(f"query.{key}", v) for v in values]

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str):
            found.append((where, value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    walk(template.body, "body")
    return found
