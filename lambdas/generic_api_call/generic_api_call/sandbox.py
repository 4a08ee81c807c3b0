"""The sandbox a template runs in: what it may do, and how much work and output it may make.

Templates come from a database: they are code, run here with the caller's hostile params.
render.py decides where each rendered string goes (the slots); this module decides what
rendering one string may do, and compiles and renders it.

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
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import quote

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes, pass_context
from jinja2 import Template as JinjaTemplate
from jinja2.environment import TemplateExpression
from jinja2.parser import Parser
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.visitor import NodeTransformer

from .errors import GenericApiCallError, InvalidTemplate, RenderError
from .limits import (
    CALL_STEPS,
    MAX_INT_BITS,
    MAX_PRODUCED_CHARS,
    MAX_RENDER_SECONDS,
    MAX_RENDERED_CHARS,
    MAX_REQUEST_CHARS,
    MAX_STEPS,
    PIECE_CHARS,
)
from .secrets import Secrets

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

_FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
}


# --- values the sandbox treats specially --------------------------------------------------
# Defined here, not in render.py, because the environment below needs them (render.py
# imports this module, never the other way round); render.py re-exports both.

class TrustedUrl(str):
    """A value inserted into a URL without encoding: only the deployment's base URL."""


class Params(dict):
    """The caller's params; a missing one is reported by name."""


# --- per-render state --------------------------------------------------------------------

@dataclass
class RenderState:
    """Budgets and secrets of one render_request call (reached through `_STATE`)."""

    secrets: Secrets
    steps: int = 0
    chars: int = 0
    produced: int = 0
    sizes: dict[int, tuple[Any, int]] = field(default_factory=dict)  # literals built, see _built
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_RENDER_SECONDS)

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise RenderError(f"template does too much work (over {MAX_STEPS} loop iterations, calls and filter items)")
        if time.monotonic() > self.deadline:
            raise RenderError(f"template takes too long to render (over {MAX_RENDER_SECONDS} s)")

    def produce(self, chars: int) -> None:
        """Every string a render creates counts, kept or not: buffered output ({% set %} blocks,
        macros, {% filter %}, {% call %}) holds memory long before it is joined and measured."""
        self.produced += chars + PIECE_CHARS
        if self.produced > MAX_PRODUCED_CHARS:
            raise RenderError(
                f"template produces over {MAX_PRODUCED_CHARS} characters (buffered output included)")
        if time.monotonic() > self.deadline:
            raise RenderError(f"template takes too long to render (over {MAX_RENDER_SECONDS} s)")

    def add_output(self, chars: int) -> None:
        self.chars += chars
        if self.chars > MAX_REQUEST_CHARS:
            raise RenderError(f"rendered request exceeds {MAX_REQUEST_CHARS} characters")


_STATE: ContextVar[RenderState] = ContextVar("generic_api_call_render_state")


def current_state() -> RenderState:
    # Raises LookupError outside a render, e.g. when Jinja tries to fold constants at
    # compile time; Jinja then leaves the expression to run time, where the state exists.
    return _STATE.get()


@contextmanager
def active(state: RenderState) -> Iterator[None]:
    token = _STATE.set(state)
    try:
        yield
    finally:
        _STATE.reset(token)


def _secret(name: Any) -> str:
    """The template global `secret(name)`: allow-list, resolve, remember for masking (secrets.py)."""
    return current_state().secrets.value(name)


# The only globals a template sees. range: the sandbox's, capped at 100,000 items.
ALLOWED_GLOBALS: Mapping[str, Callable[..., Any]] = MappingProxyType({"range": safe_range, "secret": _secret})


# --- size checks -------------------------------------------------------------------------

def _approx_size(
    value: Any, limit: int, *, printing: bool = False, known: Mapping[int, tuple[Any, int]] | None = None,
) -> int:
    """Roughly how many characters str(value) or its JSON takes; stops counting past `limit`.

    Shared references are counted each time they occur, which is the point: `[a, a]` nested
    30 deep is small in memory but enormous once printed. When `printing`, an undefined
    value anywhere inside raises its error (a list would otherwise print it as "Undefined").
    `known` holds the sizes of values measured before (by id), so a literal built from
    earlier literals is measured in one step per item.
    """
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if known is not None and item is not value and id(item) in known:
            total += known[id(item)][1]
            continue
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


def too_big(limit: int = MAX_RENDERED_CHARS) -> RenderError:
    return RenderError(f"rendered value exceeds {limit} characters")


def check_size(value: Any, limit: int = MAX_RENDERED_CHARS, *, printing: bool = False) -> None:
    if _approx_size(value, limit, printing=printing) > limit:
        raise too_big(limit)


def _checked_result(value: Any) -> Any:
    """Refuse a too long str or list made by a call, filter or operator; charge for its size."""
    if isinstance(value, str | list | tuple):
        if len(value) > MAX_RENDERED_CHARS:
            raise too_big()
        if isinstance(value, str):
            state = current_state()
            state.charge(len(value) // 1024)  # copying text costs time too
            state.produce(len(value))
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
        raise too_big()
    state = current_state()
    state.charge(size // 1024)
    state.produce(size)
    return "".join(str(part) for part in parts)


def _tilde(operands: list[Any]) -> str:
    """`a ~ b`, measured before joining (the template is rewritten to call this)."""
    check_size(operands, printing=True)
    text = "".join(str(operand) for operand in operands)
    state = current_state()
    state.charge(len(text) // 1024)
    state.produce(len(text))
    return text


class _TemplateText(str):
    """Text written in the template itself: printed as is, in the URL too."""


@pass_context  # Jinja never folds a filter that takes the context: it runs each time
def _literal(context: Context, text: str) -> _TemplateText:
    """Template text, rewritten as an expression so finalize counts it (see _Guards)."""
    return _TemplateText(text)


def _built(value: Any) -> Any:
    """A list, tuple or map literal: measured when built, so `{% set a = [a, a] %}` cannot grow
    a value whose comparison, hashing or printing would take hours (shared references count
    each time they occur)."""
    state = current_state()
    size = _approx_size(value, MAX_REQUEST_CHARS, known=state.sizes)
    state.charge(1 + len(value) // 64)
    if size > MAX_REQUEST_CHARS:
        raise too_big(MAX_REQUEST_CHARS)
    state.sizes[id(value)] = (value, size)  # the value is kept alive, so its id stays its own
    return value


def _loop_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every `{% for %}` iterable so each iteration is charged to the step budget."""
    return _counted(iterable, current_state())


def _counted(iterable: Any, state: RenderState) -> Iterator[Any]:
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
        raise too_big()


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
        raise too_big()


# --- filters -----------------------------------------------------------------------------

def _check_replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    s, old, new = str(s), str(old), str(new)
    hits = len(s) + 1 if not old else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(s) + hits * max(len(new) - len(old), 0) > MAX_RENDERED_CHARS:
        raise too_big()


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    separators = len(str(d)) * max(len(value) - 1, 0)
    if _approx_size(value, MAX_RENDERED_CHARS) + separators > MAX_RENDERED_CHARS:
        raise too_big()


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
        state = current_state()
        args = (*args[:skip], *(_materialized(arg) for arg in args[skip:]))
        kwargs = {key: _materialized(value) for key, value in kwargs.items()}
        for value in (*args[skip:], *kwargs.values()):
            state.charge(1 + _cost(value))
            check_size(value, MAX_REQUEST_CHARS)
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
        self.globals = dict(ALLOWED_GLOBALS)  # replaces Jinja's defaults (cycler, joiner, lipsum, dict...)
        self.filters = {name: _guarded_filter(name, self.filters[name]) for name in ALLOWED_FILTERS}
        # Internal: the compiled template calls these; templates cannot name them (see _checked_ast).
        self.filters |= {"_loop_guard": _loop_guard, "_tilde": _tilde, "_literal": _literal, "_built": _built}
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
        current_state().charge(CALL_STEPS)  # macros and blocks can recurse or fan out without any loop
        return _checked_result(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return _checked_result(self.binop_table[operator](left, right))


def _checked_output(value: Any) -> Any:
    """finalize for text: measure a value before Jinja turns it into a string, then count it."""
    check_size(value, printing=True)
    text = value if isinstance(value, str) else str(value)
    current_state().produce(len(text))
    return text


def _encode_url_value(value: Any) -> str:
    """finalize for the URL: every output is one percent-encoded path segment."""
    if isinstance(value, TrustedUrl | _TemplateText):
        current_state().produce(len(value))
        return str(value)
    check_size(value, printing=True)
    text = str(value)  # StrictUndefined raises UndefinedError here
    if text in {".", ".."}:
        raise RenderError(f"a URL value may not be {text!r}: it would change the path")
    encoded = quote(text, safe="")
    current_state().produce(len(encoded))
    return encoded


_ENVIRONMENTS = {"text": _Environment(_checked_output), "url": _Environment(_encode_url_value)}


# --- compiling ---------------------------------------------------------------------------

class _NotAllowed(Exception):
    """A template uses a filter, test or tag outside the allow-lists."""


class _Guards(NodeTransformer):
    """Rewrites loops, `~`, literals and template text so the budgets apply to them."""

    # generic_visit transforms the children in place and returns the node itself.

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _internal_filter("_loop_guard", cast(nodes.Expr, node.iter))
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        # Literal text bypasses finalize; as an expression it is counted like any output.
        self.generic_visit(node)
        node.nodes = [
            _internal_filter("_literal", nodes.Const(child.data, lineno=child.lineno))
            if isinstance(child, nodes.TemplateData) else child
            for child in node.nodes
        ]
        return node

    def visit_List(self, node: nodes.List) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("_built", node)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("_built", node)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("_built", node) if node.ctx == "load" else node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _internal_filter("_tilde", nodes.List(node.nodes, lineno=node.lineno))


def _internal_filter(name: str, node: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


_SECRET_ENCODINGS = frozenset({"tojson", "urlencode"})  # their output forms are masked (secrets.forms)
_BUFFERING = (nodes.AssignBlock, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.Block)
_SECRET_RULE = (
    "secret() may only be placed whole: {{ secret('name') }}, or piped once into |tojson or |urlencode, "
    "outside {% set %} blocks, macros, {% call %}, {% filter %} and {% block %}"
)


def _secret_names(ast: nodes.Template, expression: bool) -> frozenset[str]:
    """Names of the secrets a template uses; _NotAllowed unless each is placed whole (see secrets.py).

    A secret's value then reaches the output unchanged (or through an encoding whose forms
    are masked): the template cannot slice, compare, concatenate or transform it.
    """
    names: set[str] = set()
    root = ast.body[0] if expression else None

    def placed(parent: nodes.Node | None, grandparent: nodes.Node | None, buffered: bool, call: nodes.Call) -> bool:
        if parent is root or (isinstance(parent, nodes.Output) and not buffered):
            return True
        return (
            isinstance(parent, nodes.Filter) and parent.node is call and parent.name in _SECRET_ENCODINGS
            and not parent.args and not parent.kwargs and parent.dyn_args is None and parent.dyn_kwargs is None
            and (grandparent is root or (isinstance(grandparent, nodes.Output) and not buffered))
        )

    def walk(node: nodes.Node, parent: nodes.Node | None, grandparent: nodes.Node | None, buffered: bool) -> None:
        called = isinstance(parent, nodes.Call) and parent.node is node
        if isinstance(node, nodes.Name) and node.name == "secret" and node.ctx == "load" and not called:
            raise _NotAllowed(_SECRET_RULE)
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name == "secret":
            argument = node.args[0] if len(node.args) == 1 else None
            if (node.kwargs or node.dyn_args is not None or node.dyn_kwargs is not None
                    or not isinstance(argument, nodes.Const) or not isinstance(argument.value, str)):
                raise _NotAllowed("secret() takes one literal name, e.g. secret('ssm:/api/token')")
            if not placed(parent, grandparent, buffered, node):
                raise _NotAllowed(_SECRET_RULE)
            names.add(argument.value)
        inner = buffered or isinstance(node, _BUFFERING)
        for child in node.iter_child_nodes():
            walk(child, node, parent, inner)

    walk(ast, None, None, False)
    return frozenset(names)


_CHECKED_NODES: tuple[type[nodes.Node], ...] = (nodes.Filter, nodes.Test, nodes.For, *_FORBIDDEN_TAGS)


def _checked_ast(ast: nodes.Template) -> None:
    node: nodes.Node
    for node in ast.find_all(_CHECKED_NODES):
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            raise _NotAllowed(f"filter {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_FILTERS))}")
        if isinstance(node, nodes.Test) and node.name not in ALLOWED_TESTS:
            raise _NotAllowed(f"test {node.name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_TESTS))}")
        if isinstance(node, nodes.For) and node.recursive:
            raise _NotAllowed("recursive loops are not allowed")
        if type(node) in _FORBIDDEN_TAGS:
            raise _NotAllowed(f"{{% {_FORBIDDEN_TAGS[type(node)]} %}} is not allowed: templates cannot load others")


def _prepared(
    environment: _Environment, ast: nodes.Template, expression: bool
) -> tuple[nodes.Template, frozenset[str]]:
    _checked_ast(ast)
    names = _secret_names(ast, expression)
    ast = _Guards().visit(ast)
    ast.set_environment(environment)
    return ast, names


@functools.lru_cache(maxsize=256)
def _compiled(kind: str, source: str) -> tuple[JinjaTemplate, frozenset[str]]:
    environment = _ENVIRONMENTS[kind]
    ast, names = _prepared(environment, environment.parse(source), expression=False)
    return environment.from_string(ast), names


@functools.lru_cache(maxsize=256)
def _compiled_expression(source: str) -> tuple[TemplateExpression, frozenset[str]]:
    """Like Environment.compile_expression, but through the same checks as templates."""
    environment = _ENVIRONMENTS["text"]
    parser = Parser(environment, source, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        raise TemplateSyntaxError("chunk after expression", parser.stream.current.lineno, None, None)
    ast = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1)
    prepared, names = _prepared(environment, ast, expression=True)
    return TemplateExpression(environment.from_string(prepared), undefined_to_none=False), names


def compile_source(kind: str, source: str, where: str) -> Any:
    """A compiled template (kind "text" or "url") or expression; InvalidTemplate if refused."""
    return _compile(kind, source, where)[0]


def secrets_used(kind: str, source: str, where: str) -> frozenset[str]:
    """The secret names a template string uses (each placed whole); InvalidTemplate if refused."""
    return _compile(kind, source, where)[1]


def _compile(kind: str, source: str, where: str) -> tuple[Any, frozenset[str]]:
    try:
        return _compiled_expression(source) if kind == "expression" else _compiled(kind, source)
    except TemplateSyntaxError as exc:  # TemplateAssertionError (unknown filter...) too
        raise InvalidTemplate(f"{where}: Jinja syntax error: {exc.message} (line {exc.lineno})") from exc
    except _NotAllowed as exc:
        raise InvalidTemplate(f"{where}: {exc}") from exc
    except RecursionError as exc:
        raise InvalidTemplate(f"{where}: template is nested too deeply") from exc


# --- rendering one string ----------------------------------------------------------------

@contextmanager
def render_errors(where: str) -> Iterator[None]:
    """Anything a template does wrong at run time becomes a RenderError naming the field."""
    try:
        yield
    except RenderError as exc:
        raise RenderError(f"{where}: {exc}") from exc
    except GenericApiCallError:
        raise  # SecretNotAllowed and the resolver's own errors keep their type
    except TemplateError as exc:  # UndefinedError, SecurityError, ...
        raise RenderError(f"{where}: {exc.message or type(exc).__name__}") from exc
    except RecursionError as exc:
        raise RenderError(f"{where}: macros or blocks recurse too deeply") from exc
    except Exception as exc:  # the template is code: any failure of it is a render failure
        raise RenderError(f"{where}: {type(exc).__name__}: {exc}") from exc


def render_string(kind: str, source: str, context: dict[str, Any], where: str) -> str:
    """Compile and render one string (kind "text" or "url") within the caps."""
    template = compile_source(kind, source, where)
    with render_errors(where):
        chunks = template.generate(context)
        try:
            return _collect(chunks)
        finally:
            chunks.close()


def _collect(chunks: Iterator[str]) -> str:
    """Join streamed output, stopping as soon as a cap is passed."""
    state, parts, size = current_state(), [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise too_big()
        state.add_output(len(chunk))
        parts.append(chunk)
    return "".join(parts)
