"""The filters a template may use, each wrapped so budget.py's budgets apply (sandbox.py lists them).

Every filter's inputs are charged to the step budget and measured; the filters that can
build a big value from a small one (replace, join, tojson's indent) or cost a lot in one
uninterruptible call (round's precision: 10**precision) are checked before they run; every
output is measured (budget.checked_result).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sized
from typing import Any

from jinja2 import Undefined

from .budget import approx_size, check_size, checked_result, current_state, too_big
from .errors import RenderError
from .limits import MAX_RENDERED_CHARS, MAX_REQUEST_CHARS, MAX_ROUND_DIGITS


def _cost(value: Any) -> int:
    """Steps charged for handing `value` to a filter: one per item, one per KiB of text."""
    if isinstance(value, Undefined):
        return 0
    if isinstance(value, str):
        return len(value) // 1024
    return len(value) if isinstance(value, Sized) else 0


def _check_replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    s, old, new = str(s), str(old), str(new)
    hits = len(s) + 1 if not old else s.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(s) + hits * max(len(new) - len(old), 0) > MAX_RENDERED_CHARS:
        raise too_big()


def _check_join(value: Any, d: Any = "", attribute: Any = None) -> None:
    separators = len(str(d)) * max(len(value) - 1, 0)
    if approx_size(value, MAX_RENDERED_CHARS) + separators > MAX_RENDERED_CHARS:
        raise too_big()


def _check_tojson(value: Any, indent: Any = None) -> None:
    if indent is not None:  # indentation multiplies with nesting depth
        raise RenderError("tojson: the indent argument is not allowed")


def _check_round(value: Any, precision: Any = 0, method: Any = "common") -> None:
    # Checked before Jinja runs it: the cost of 10**precision is one C call, past any deadline.
    if isinstance(precision, bool) or not isinstance(precision, int) or abs(precision) > MAX_ROUND_DIGITS:
        raise RenderError(
            f"round: the precision must be a whole number from -{MAX_ROUND_DIGITS} to {MAX_ROUND_DIGITS}, "
            f"got {_shown(precision)}")


def _shown(value: Any) -> str:
    """A short description of an argument for an error message (a param may be huge)."""
    if isinstance(value, int | float | str) and approx_size(value, 40) <= 40:
        return repr(value)
    return f"a value of type {type(value).__name__}"


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "replace": _check_replace, "join": _check_join, "tojson": _check_tojson, "round": _check_round,
}


def _materialized(value: Any) -> Any:
    # A generator (e.g. from `map`) has no size; a list of it can be measured and charged.
    if isinstance(value, Iterator) and not isinstance(value, Undefined):
        return list(value)
    return value


def guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
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
        return checked_result(func(*args, **kwargs))

    return guarded
