"""The sandbox a template runs in: what it may do. Budgets: budget.py; compiling: compiling.py.

Templates come from a database: they are code, run here with the caller's hostile params.
render.py decides where each rendered string goes (the slots); this module decides what a
template may reach:

- Jinja's ImmutableSandboxedEnvironment with StrictUndefined and no loader; `include`,
  `import`, `extends` and recursive loops are refused when the template is compiled.
- Only ALLOWED_GLOBALS, ALLOWED_FILTERS and ALLOWED_TESTS. A map exposes its keys only,
  any other object only the attributes in `_SAFE_ATTRIBUTES` (no `format`, no dunders).
- `secret(name)` resolves a secret through secrets.py (allow-list, resolve, mask), and may
  only be placed whole (checked when compiling, see compiling.py).
- Every call, operator, filter and printed value goes through budget.py (filters: filters.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from .budget import (
    TemplateText,
    built,
    check_binop,
    check_size,
    checked_result,
    current_state,
    joined,
    literal,
    loop_guard,
    tilde,
)
from .errors import RenderError
from .filters import guarded_filter
from .limits import CALL_STEPS

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

FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends", nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from ... import",
}


# --- values the sandbox treats specially --------------------------------------------------
# Defined here, not in render.py, because the environment below needs them (render.py
# imports this module, never the other way round); render.py re-exports both.

class TrustedUrl(str):
    """A value inserted into a URL without encoding: only the deployment's base URL."""


class Params(dict):
    """The caller's params; a missing one is reported by name."""


def _secret(name: Any) -> str:
    """The template global `secret(name)`: allow-list, resolve, remember for masking (secrets.py)."""
    return current_state().secrets.value(name)


# The only globals a template sees. range: the sandbox's, capped at 100,000 items.
ALLOWED_GLOBALS: Mapping[str, Callable[..., Any]] = MappingProxyType({"range": safe_range, "secret": _secret})


# --- the environment ---------------------------------------------------------------------

def _allowed_attributes(obj: Any) -> frozenset[str]:
    for kind, names in _SAFE_ATTRIBUTES:
        if isinstance(obj, kind):
            return names
    return frozenset()


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "%", "**"})
    concat = staticmethod(joined)

    def __init__(self, finalize: Callable[[Any], Any]) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, finalize=finalize)
        self.globals = dict(ALLOWED_GLOBALS)  # replaces Jinja's defaults (cycler, joiner, lipsum, dict...)
        self.filters = {name: guarded_filter(name, self.filters[name]) for name in ALLOWED_FILTERS}
        # Internal: the compiled template calls these; templates cannot name them (see _checked_ast).
        self.filters |= {"loop_guard": loop_guard, "tilde": tilde, "literal": literal, "built": built}
        self.tests = {name: self.tests[name] for name in ALLOWED_TESTS}

    def call_filter(self, name: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        # `map('name')` (and any filter called by name at run time, the name possibly a
        # param) reaches filters here: only the allow-listed ones, never the internal
        # helpers above (`literal` would put a param in the URL unencoded).
        if name not in ALLOWED_FILTERS:
            raise SecurityError(f"filter {name!r} is not allowed; allowed: {', '.join(sorted(ALLOWED_FILTERS))}")
        return super().call_filter(name, value, *args, **kwargs)

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
        return checked_result(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return checked_result(self.binop_table[operator](left, right))


def _checked_output(value: Any) -> Any:
    """finalize for text: measure a value before Jinja turns it into a string, then count it."""
    check_size(value, printing=True)
    text = value if isinstance(value, str) else str(value)
    current_state().produce(len(text))
    return text


def _encode_url_value(value: Any) -> str:
    """finalize for the URL: every output is one percent-encoded path segment."""
    if isinstance(value, TrustedUrl | TemplateText):
        current_state().produce(len(value))
        return str(value)
    check_size(value, printing=True)
    text = str(value)  # StrictUndefined raises UndefinedError here
    if text in {".", ".."}:
        raise RenderError(f"a URL value may not be {text!r}: it would change the path")
    encoded = quote(text, safe="")
    current_state().produce(len(encoded))
    return encoded


ENVIRONMENTS = {"text": SandboxEnvironment(_checked_output), "url": SandboxEnvironment(_encode_url_value)}
