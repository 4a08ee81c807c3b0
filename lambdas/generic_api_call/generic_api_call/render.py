"""Render a Template with the caller's params into a concrete HTTP request.

Both inputs are untrusted: the template comes from a database (it is code, run in a
sandbox) and the params from whoever starts the execution (hostile data).

Where params may go:

- url: every `{{ ... }}` output is percent-encoded as one path segment ('/' included), so a
  param cannot add path segments, a query string or a fragment; `.` and `..` are refused.
  Only the deployment's `base_url` is inserted as is. The URL is then rendered again with
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
  `{{ ... | tojson }}` may put an object, array or string where the template has none).

What a template may do:

- Jinja's ImmutableSandboxedEnvironment with StrictUndefined and no loader; `include`,
  `import`, `extends` and recursive loops are refused when the template is compiled.
- Only ALLOWED_GLOBALS, ALLOWED_FILTERS and ALLOWED_TESTS. A map exposes its keys only,
  any other object only the attributes in `_SAFE_ATTRIBUTES` (no `format`, no dunders).
- `secret(name)` resolves a secret only if the template lists `name` in its `secrets`.

Caps, so a template cannot exhaust the Lambda's memory or time:

- MAX_RENDERED_CHARS per rendered string, MAX_REQUEST_CHARS for the whole request. Output
  is streamed with Template.generate() and cut off as soon as it is too long; buffered
  output (macros, `{% set %}` blocks) and `~` are measured before they are joined.
- Operators and filters that can build a big value from a small one (`*`, `**`, `+`, `%`,
  replace, join...) are checked before they run; every value printed is measured first.
- MAX_STEPS: loop iterations, calls and the size of filter inputs share one budget per
  render, so nested loops stop early even when they print nothing.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from numbers import Number
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2 import Template as JinjaTemplate
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.visitor import NodeTransformer

from .errors import GenericApiCallError, InvalidTemplate, RenderError, SecretNotAllowed
from .template import Template

MAX_RENDERED_CHARS = 64 * 1024  # one rendered string: the URL, a header, a query value, a body
MAX_REQUEST_CHARS = 192 * 1024  # everything rendered for one request
MAX_STEPS = 100_000  # loop iterations + calls + filter input sizes, per render
MAX_RENDER_SECONDS = 2.0  # backstop for steps that each do a lot of work (the Lambda has 30 s)
CALL_STEPS = 10  # a call (macro, method, range...) costs about ten loop iterations
MAX_INT_BITS = 8192  # `*` and `**` on integers; ~2,500 digits is plenty for an API call

ALLOWED_GLOBALS = ("range", "secret")  # range: the sandbox's, capped at 100,000 items

# Filters that only transform their input. Left out on purpose: format (printf-style, with
# widths chosen by the template), attr (CVE-2025-27516 sandbox escape), select/reject/
# selectattr/rejectattr (run tests by name), indent/center/wordwrap/batch/slice (a number
# argument builds huge output or loops), and the HTML or display ones (escape, safe,
# striptags, urlize, xmlattr, pprint, filesizeformat, wordcount, random, groupby, dictsort,
# items), which an HTTP request does not need.
ALLOWED_FILTERS = frozenset({
    "abs", "capitalize", "count", "d", "default", "first", "float", "int", "join", "last",
    "length", "list", "lower", "map", "max", "min", "replace", "reverse", "round", "sort",
    "string", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode",
})

# Tests that only look at a value. Left out: odd/even/divisibleby (they apply `%`, which on a
# string is printf formatting with template-chosen widths), lower/upper (str() of any value),
# and callable/sameas/escaped/filter/test (not needed).
ALLOWED_TESTS = frozenset({
    "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
    "string", "mapping", "sequence", "iterable", "in",
    "eq", "==", "equalto", "ne", "!=", "lt", "<", "lessthan", "le", "<=", "gt", ">", "greaterthan", "ge", ">=",
})

# Attributes reachable on non-map objects. Only str methods that cannot grow their input
# (so no ljust/center/zfill/expandtabs/replace/join, and never format/format_map), and the
# loop variable's documented fields. Everything else (dunders, int.to_bytes...) is refused.
_SAFE_ATTRIBUTES: tuple[tuple[type, frozenset[str]], ...] = (
    (str, frozenset({
        "lower", "upper", "title", "capitalize", "casefold", "swapcase", "strip", "lstrip", "rstrip",
        "split", "rsplit", "splitlines", "partition", "rpartition", "removeprefix", "removesuffix",
        "startswith", "endswith", "count", "find", "rfind", "index", "rindex",
        "isalnum", "isalpha", "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "isupper",
    })),
    (list, frozenset({"count", "index"})),
    (tuple, frozenset({"count", "index"})),
    (LoopContext, frozenset({
        "index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0",
        "previtem", "nextitem", "cycle", "changed",
    })),
)

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.DOTALL)
_JINJA_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_ENDS_WITH_TOJSON = re.compile(r"\|\s*tojson\s*(?:\(\s*\))?\s*-?\}\}\Z")
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # HTAB is allowed in a field value
_ALLOWED_SCHEMES = frozenset({"http", "https"})
_FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
}
_DESTINATION_CHANGED = "url: params may not change the destination (scheme, host or port)"
_PROBES = (("p", 1), ("q", 2))  # neutral values for strings and numbers when checking the URL


class TrustedUrl(str):
    """A value inserted into a URL without encoding: only the deployment's base URL."""


class Params(dict):
    """The caller's params; a missing one is reported by name."""


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


# --- per-render state --------------------------------------------------------------------

class _ResolverFailed(Exception):
    """Carries the secret resolver's own exception through Jinja, so it is not reworded."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass
class _RenderState:
    """Budgets and secrets of one render_request call (reached through `_STATE`)."""

    template: Template
    secret_resolver: Callable[[str], str] | None
    secrets: dict[str, str] = field(default_factory=dict)  # name -> value, resolved once
    steps: int = 0
    chars: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_RENDER_SECONDS)

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise RenderError(f"template does too much work (over {MAX_STEPS} loop iterations, calls and filter items)")
        if time.monotonic() > self.deadline:
            raise RenderError(f"template takes too long to render (over {MAX_RENDER_SECONDS} s)")

    def add_output(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_REQUEST_CHARS:
            raise RenderError(f"rendered request exceeds {MAX_REQUEST_CHARS} characters")

    def secret(self, name: Any) -> str:
        # The allow-list comes first: naming an unlisted secret is a template bug even where
        # no resolver is configured. Messages name the secret, never a value.
        if not isinstance(name, str) or name not in self.template.secrets:
            raise SecretNotAllowed(
                f"template {self.template.name!r} may not use secret {name!r}: it is not in its 'secrets' list"
            )
        if name not in self.secrets:
            self.secrets[name] = self._resolve(name)
        return self.secrets[name]

    def _resolve(self, name: str) -> str:
        if self.secret_resolver is None:
            raise RenderError("no secret resolver")
        try:
            return str(self.secret_resolver(name))
        except GenericApiCallError:
            raise
        except Exception as exc:
            raise _ResolverFailed(exc) from exc


_STATE: ContextVar[_RenderState] = ContextVar("generic_api_call_render_state")


def _state() -> _RenderState:
    # Raises LookupError outside a render, e.g. when Jinja tries to fold constants at
    # compile time; Jinja then leaves the expression to run time, where the state exists.
    return _STATE.get()


@contextmanager
def _active(state: _RenderState) -> Iterator[None]:
    token = _STATE.set(state)
    try:
        yield
    finally:
        _STATE.reset(token)


def _secret(name: Any) -> str:
    """The template global `secret(name)`."""
    return _state().secret(name)


# --- size checks -------------------------------------------------------------------------

def _approx_size(value: Any, limit: int, *, printing: bool = False) -> int:
    """Roughly how many characters str(value) or its JSON takes; stops counting past `limit`.

    Shared references are counted each time they occur, which is the point: `[a, a]` nested
    30 deep is small in memory but enormous once printed. When `printing`, an undefined
    value anywhere inside raises its error (a list would otherwise print it as "Undefined").
    """
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if printing and isinstance(item, Undefined):
            str(item)  # StrictUndefined: raises UndefinedError, or SecurityError if refused
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, Mapping):  # brackets, plus quotes and separators for each item
            total += 2 + 6 * len(item)
            for key, child in item.items():
                pending += (key, child)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 4 * len(item)
            pending.extend(item)
        elif isinstance(item, range):
            total += len(item) * (len(str(max(abs(item.start), abs(item.stop)))) + 2)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        else:
            total += 8
    return total


def _too_big(limit: int = MAX_RENDERED_CHARS) -> RenderError:
    return RenderError(f"rendered value exceeds {limit} characters")


def _check_size(value: Any, limit: int = MAX_RENDERED_CHARS, *, printing: bool = False) -> None:
    if _approx_size(value, limit, printing=printing) > limit:
        raise _too_big(limit)


def _checked_result(value: Any) -> Any:
    """Refuse a too long str or list made by a call, filter or operator; charge for its size."""
    if isinstance(value, str | list | tuple):
        if len(value) > MAX_RENDERED_CHARS:
            raise _too_big()
        if isinstance(value, str):
            _state().charge(len(value) // 1024)  # copying text costs time too
    return value


def _cost(value: Any) -> int:
    """Steps charged for handing `value` to a filter: one per item, one per KiB of text."""
    if isinstance(value, Undefined):
        return 0
    if isinstance(value, str):
        return len(value) // 1024
    return len(value) if isinstance(value, Sized) else 0


def _joined(parts: Iterable[Any]) -> str:
    """Environment.concat: joins buffered output (macros, `{% set %}` and filter blocks)."""
    parts = list(parts)  # the buffer holds references, so it is small until joined
    size = sum(len(part) if isinstance(part, str) else _approx_size(part, MAX_RENDERED_CHARS) for part in parts)
    if size > MAX_RENDERED_CHARS:
        raise _too_big()
    _state().charge(size // 1024)
    return "".join(str(part) for part in parts)


def _tilde(operands: list[Any]) -> str:
    """`a ~ b`, measured before joining (the template is rewritten to call this)."""
    _check_size(operands, printing=True)
    text = "".join(str(operand) for operand in operands)
    _state().charge(len(text) // 1024)
    return text


def _loop_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every `{% for %}` iterable so each iteration is charged to the step budget."""
    return _counted(iterable, _state())


def _counted(iterable: Any, state: _RenderState) -> Iterator[Any]:
    for item in iterable:
        state.charge(1)
        yield item


# --- operators ---------------------------------------------------------------------------

def _check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse, before it runs, an operator that would build a value over the caps."""
    if operator == "%" and isinstance(left, str):
        raise RenderError("'%' string formatting is not allowed; use ~ and filters")
    if isinstance(left, int) and isinstance(right, int):
        _check_int_result(operator, left, right)
    elif operator == "*":
        _check_repeat(left, right)
    elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        _check_concatenation(left, right)


def _check_concatenation(left: str | list[Any] | tuple[Any, ...], right: str | list[Any] | tuple[Any, ...]) -> None:
    if _approx_size(left, MAX_RENDERED_CHARS) + _approx_size(right, MAX_RENDERED_CHARS) > MAX_RENDERED_CHARS:
        raise _too_big()


def _check_int_result(operator: str, left: int, right: int) -> None:
    if operator == "*":
        bits = left.bit_length() + right.bit_length()
    elif operator == "**":
        bits = left.bit_length() * right if right > 0 and abs(left) > 1 else 0
    else:
        bits = max(left.bit_length(), right.bit_length()) + 1
    if bits > MAX_INT_BITS:
        raise RenderError(f"'{operator}' would build an integer of over {MAX_INT_BITS} bits")


def _check_repeat(left: Any, right: Any) -> None:
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if not isinstance(times, int) or not isinstance(sequence, str | list | tuple) or times <= 0:
        return
    if isinstance(sequence, str):
        size = len(sequence)
    else:  # a list repeats references: count what printing it would take
        size = max(len(sequence), _approx_size(sequence, MAX_RENDERED_CHARS) - 2)
    if size * times > MAX_RENDERED_CHARS:
        raise _too_big()


# --- filters -----------------------------------------------------------------------------

def _check_replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    s, old, new = str(s), str(old), str(new)
    hits = len(s) + 1 if not old else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(s) + hits * max(len(new) - len(old), 0) > MAX_RENDERED_CHARS:
        raise _too_big()


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    separators = len(str(d)) * max(len(value) - 1, 0)
    if _approx_size(value, MAX_RENDERED_CHARS) + separators > MAX_RENDERED_CHARS:
        raise _too_big()


def _check_tojson(value: Any, indent: Any = None) -> None:
    if indent is not None:  # indentation multiplies with nesting depth
        raise RenderError("tojson: the indent argument is not allowed")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "replace": _check_replace, "join": _check_join, "tojson": _check_tojson,
}


def _materialized(value: Any) -> Any:
    # A generator (e.g. from `map`) has no size; a list of it can be measured and charged.
    if isinstance(value, Iterator) and not isinstance(value, Undefined):
        return list(value)
    return value


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a Jinja filter: charge and measure its inputs, run its own check, measure its output."""
    skip = 1 if hasattr(func, "jinja_pass_arg") else 0  # context/eval context/environment first
    check = _FILTER_CHECKS.get(name)

    @functools.wraps(func)  # keeps `jinja_pass_arg`, so Jinja still passes the context
    def guarded(*args: Any, **kwargs: Any) -> Any:
        state = _state()
        args = (*args[:skip], *(_materialized(arg) for arg in args[skip:]))
        kwargs = {key: _materialized(value) for key, value in kwargs.items()}
        for value in (*args[skip:], *kwargs.values()):
            state.charge(1 + _cost(value))
            _check_size(value, MAX_REQUEST_CHARS)
        if check is not None:
            check(*args[skip:], **kwargs)
        return _checked_result(func(*args, **kwargs))

    return guarded


# --- the environment ---------------------------------------------------------------------

def _allowed_attributes(obj: Any) -> frozenset[str]:
    for kind, names in _SAFE_ATTRIBUTES:
        if isinstance(obj, kind):
            return names
    return frozenset()


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "%", "**"})
    concat = staticmethod(_joined)

    def __init__(self, finalize: Callable[[Any], Any]) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=finalize)
        self.globals = {"range": safe_range, "secret": _secret}
        self.filters = {name: _guarded_filter(name, self.filters[name]) for name in ALLOWED_FILTERS}
        # Internal: the compiled template calls these; templates cannot name them (see _checked_ast).
        self.filters |= {"_loop_guard": _loop_guard, "_tilde": _tilde}
        self.tests = {name: self.tests[name] for name in ALLOWED_TESTS}

    def getattr(self, obj: Any, attribute: str) -> Any:
        # For maps, `a.b` means the key "b" only: `params.items` is the param named
        # "items", never dict.items, and no dict method is reachable from a template.
        if isinstance(obj, dict):
            return self._key(obj, attribute)
        if attribute in _allowed_attributes(obj):
            return getattr(obj, attribute)
        return self._item_or_refused(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict):
            return self._key(obj, argument)
        try:
            return obj[argument]
        except (TypeError, LookupError):
            pass
        if isinstance(argument, str) and argument in _allowed_attributes(obj):
            return getattr(obj, argument)
        if isinstance(argument, str):
            return self.unsafe_undefined(obj, argument)
        return self.undefined(obj=obj, name=argument)

    def _key(self, obj: dict[Any, Any], key: Any) -> Any:
        try:
            if key in obj:
                return obj[key]
        except TypeError:  # an unhashable key
            pass
        hint = f"missing param '{key}'" if isinstance(obj, Params) else None
        return self.undefined(hint=hint, obj=obj, name=key)

    def _item_or_refused(self, obj: Any, name: str) -> Any:
        # `self.block_name` and Undefined (which raises its own error) go through items;
        # any other attribute is refused, and fails with SecurityError wherever it is used.
        try:
            return obj[name]
        except (TypeError, LookupError):
            return self.unsafe_undefined(obj, name)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _state().charge(CALL_STEPS)  # macros and blocks can recurse or fan out without any loop
        return _checked_result(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _checked_result(self.binop_table[operator](left, right))


def _checked_output(value: Any) -> Any:
    """finalize for text: measure a value before Jinja turns it into a string."""
    _check_size(value, printing=True)
    return value


def _encode_url_value(value: Any) -> str:
    """finalize for the URL: every output is one percent-encoded path segment."""
    if isinstance(value, TrustedUrl):
        return str(value)
    _check_size(value, printing=True)
    text = str(value)  # StrictUndefined raises UndefinedError here
    if text in {".", ".."}:
        raise RenderError(f"a URL value may not be {text!r}: it would change the path")
    return quote(text, safe="")


_ENVIRONMENTS = {"text": _Environment(_checked_output), "url": _Environment(_encode_url_value)}


# --- compiling ---------------------------------------------------------------------------

class _NotAllowed(Exception):
    """A template uses a filter, test or tag outside the allow-lists."""


class _Guards(NodeTransformer):
    """Rewrites loops and `~` so the budget and the size cap apply to them."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = _internal_filter("_loop_guard", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return _internal_filter("_tilde", nodes.List(node.nodes, lineno=node.lineno))


def _internal_filter(name: str, node: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _checked_ast(ast: nodes.Template) -> None:
    for node in ast.find_all((nodes.Filter, nodes.Test, nodes.For, *_FORBIDDEN_TAGS)):
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise _NotAllowed(f"filter {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_FILTERS))}")
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            raise _NotAllowed(f"test {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_TESTS))}")
        if isinstance(node, nodes.For) and node.recursive:
            raise _NotAllowed("recursive loops are not allowed")
        if type(node) in _FORBIDDEN_TAGS:
            raise _NotAllowed(f"{{% {_FORBIDDEN_TAGS[type(node)]} %}} is not allowed: templates cannot load others")


def _prepared(environment: _Environment, ast: nodes.Template) -> nodes.Template:
    _checked_ast(ast)
    ast = _Guards().visit(ast)
    ast.set_environment(environment)
    return ast


@functools.lru_cache(maxsize=256)
def _compiled(kind: str, source: str) -> JinjaTemplate:
    environment = _ENVIRONMENTS[kind]
    return environment.from_string(_prepared(environment, environment.parse(source)))


@functools.lru_cache(maxsize=256)
def _compiled_expression(source: str) -> TemplateExpression:
    """Like Environment.compile_expression, but through the same checks as templates."""
    environment = _ENVIRONMENTS["text"]
    parser = Parser(environment, source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    ast = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
    return TemplateExpression(environment.from_string(_prepared(environment, ast)), undefined_to_none=False)


def _compile(kind: str, source: str, where: str) -> Any:
    """A compiled template (kind "text" or "url") or expression; InvalidTemplate if refused."""
    try:
        return _compiled_expression(source) if kind == "expression" else _compiled(kind, source)
    except TemplateSyntaxError as exc:  # TemplateAssertionError (unknown filter...) too
        raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message} (line {exc.lineno})") from exc
    except _NotAllowed as exc:
        raise InvalidTemplate(f"{where}: {exc}") from exc
    except RecursionError as exc:
        raise InvalidTemplate(f"{where}: template is nested too deeply") from exc


def check_syntax(template: Template) -> None:
    """Compile every Jinja string in the template as the renderer would; raise InvalidTemplate.

    Compiling (not just parsing) also refuses filters, tests and tags outside the allow-lists,
    and a string body declared as JSON must be JSON once each `{{ }}` is a value.
    """
    for where, source, kind in _template_strings(template):
        _compile(kind, source, where)
    if isinstance(template.body, str) and _declares_json(template.headers):
        _json_skeleton(template.body)


def template_destination(template: Template, base_url: str) -> tuple[str, str | None, int | None]:
    """(scheme, host, port) the template calls, whatever the params: for the seed's checks.

    Every param reads as a neutral value; render_request checks at run time that real params
    lead to the same place.
    """
    state = _RenderState(template, lambda _name: "p")
    context = {"params": _AnyParams(), "base_url": TrustedUrl(base_url.rstrip("/"))}
    with _active(state):
        url = _render("url", template.url, context, "url")
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
    state = _RenderState(template, secret_resolver)
    context = {"params": Params(params), "base_url": TrustedUrl(base_url.rstrip("/"))}
    with _active(state), _secrets_kept_out_of_errors(state):
        request = _render_request(template, context, state)
    return replace(request, secret_values=tuple(value for value in dict.fromkeys(state.secrets.values()) if value))


@contextmanager
def _secrets_kept_out_of_errors(state: _RenderState) -> Iterator[None]:
    try:
        yield
    except _ResolverFailed as exc:
        raise exc.original from exc.original.__cause__
    except RenderError as exc:
        message = _redacted(str(exc), state.secrets.values())
        if message == str(exc):
            raise
        raise RenderError(message) from None  # not chained: the original holds the value


def _redacted(message: str, values: Iterable[str]) -> str:
    for value in sorted({v for v in values if v}, key=len, reverse=True):
        message = message.replace(value, "[redacted]").replace(quote(value, safe=""), "[redacted]")
    return message


def _render_request(template: Template, context: dict[str, Any], state: _RenderState) -> RenderedRequest:
    url = _render_url(template.url, context, state)
    headers = {name: _render_header(name, value, context) for name, value in template.headers.items()}
    query = {key: _render_query_value(key, value, context) for key, value in template.query.items()}
    if template.body is None:
        return RenderedRequest(template.method, url, headers, query)
    if isinstance(template.body, str):
        text = _render("text", template.body, context, "body")
        if _declares_json(headers):
            _check_json_body(template.body, text)
        return RenderedRequest(template.method, url, headers, query, text_body=text)
    body = _render_structure(template.body, context, "body")
    return RenderedRequest(template.method, url, headers, query, json_body=body, has_json_body=True)


@contextmanager
def _render_errors(where: str) -> Iterator[None]:
    """Anything a template does wrong at run time becomes a RenderError naming the field."""
    try:
        yield
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from exc
    except (GenericApiCallError, _ResolverFailed):
        raise  # SecretNotAllowed and the resolver's own errors keep their type
    except TemplateError as exc:  # UndefinedError, SecurityError, ...
        raise RenderError(f"{where}: {exc.message or type(exc).__name__}") from exc
    except RecursionError as exc:
        raise RenderError(f"{where}: macros or blocks recurse too deeply") from exc
    except Exception as exc:  # the template is code: any failure of it is a render failure
        raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _render(kind: str, source: str, context: dict[str, Any], where: str) -> str:
    template = _compile(kind, source, where)
    with _render_errors(where):
        chunks = template.generate(context)
        try:
            return _collect(chunks)
        finally:
            chunks.close()


def _collect(chunks: Iterator[str]) -> str:
    """Join streamed output, stopping as soon as a cap is passed."""
    state, parts, size = _state(), [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise _too_big()
        state.add_output(len(chunk))
        parts.append(chunk)
    return "".join(parts)


def _render_url(source: str, context: dict[str, Any], state: _RenderState) -> str:
    url = _render("url", source, context, "url")
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


def _probe_destination(source: str, context: dict[str, Any], state: _RenderState) -> tuple[Any, ...]:
    try:
        with _active(replace(state, steps=0, chars=0)):  # a fresh budget; shares the resolved secrets
            return _destination(_render("url", source, context, "url"))
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
    value = _render("text", source, context, f"headers.{name}")
    if "\r" in value or "\n" in value:
        raise RenderError(f"headers.{name}: a header value may not contain CR or LF")
    if _HEADER_CONTROL.search(value):
        raise RenderError(f"headers.{name}: a header value may not contain control characters")
    return value


def _render_query_value(key: str, value: str | list[str], context: dict[str, Any]) -> str | list[str]:
    if isinstance(value, list):
        return [_render("text", item, context, f"query.{key}[{i}]") for i, item in enumerate(value)]
    return _render("text", value, context, f"query.{key}")


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
    return _render("text", value, context, where)


def _single_expression(source: str) -> str | None:
    match = _SINGLE_EXPRESSION.match(source)
    if match and "{{" not in match["expr"] and "}}" not in match["expr"]:
        return match["expr"]
    return None


def _evaluate(source: str, context: dict[str, Any], where: str) -> Any:
    """Evaluate one Jinja expression to a native value, so a list param stays a list."""
    expression = _compile("expression", source, where)
    with _render_errors(where):
        result = expression(**context)
        if isinstance(result, Undefined):
            str(result)  # raises UndefinedError with Jinja's own message
        _check_size(result, printing=True)
    try:
        text = json.dumps(result)
    except (TypeError, ValueError, RecursionError) as exc:
        raise RenderError(f"{where}: value is not JSON-serialisable: {exc}") from exc
    if len(text) > MAX_RENDERED_CHARS:
        raise RenderError(f"{where}: {_too_big()}")
    with _render_errors(where):
        _state().add_output(len(text))
    return json.loads(text)


# --- JSON string bodies ------------------------------------------------------------------

class _JsonObject(list):
    """A JSON object as its (key, value) pairs in order, so a duplicated key stays visible."""


def _declares_json(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "content-type" and "json" in v.lower() for k, v in headers.items())


def _json_skeleton(source: str) -> Any:
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


def _check_json_body(source: str, text: str) -> None:
    skeleton = _json_skeleton(source)
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
