"""How much work and output a template may make: the render budgets (numbers in limits.py).

sandbox.py decides what a template may do; this module measures what it does, per render:

- MAX_RENDERED_CHARS per rendered string, MAX_REQUEST_CHARS for the whole request. Output
  is streamed and cut off as soon as it is too long (compiling.py).
- MAX_PRODUCED_CHARS: every string a render creates counts when it is created, kept or
  not, so output buffered in `{% set %}` blocks, macros, `{% filter %}` and `{% call %}`
  cannot hold memory before it is joined; template text counts too.
- List, tuple and map literals are measured when built (shared references counted each
  time), so no value a template builds can make a comparison, a hash or printing run long.
- Operators that can build a big value from a small one (`*`, `**`, `+`, `%`) are checked
  before they run (filters: filters.py); every value printed is measured first.
- MAX_STEPS: loop iterations, calls and the size of filter inputs share one budget per
  render, and each step checks the MAX_RENDER_SECONDS deadline.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context

from .errors import RenderError
from .limits import (
    MAX_INT_BITS,
    MAX_PRODUCED_CHARS,
    MAX_RENDER_SECONDS,
    MAX_RENDERED_CHARS,
    MAX_REQUEST_CHARS,
    MAX_STEPS,
    PIECE_CHARS,
)
from .secrets import Secrets

# --- per-render state --------------------------------------------------------------------

@dataclass
class RenderState:
    """Budgets and secrets of one render_request call (reached through `_STATE`)."""

    secrets: Secrets
    steps: int = 0
    chars: int = 0
    produced: int = 0
    sizes: dict[int, tuple[Any, int]] = field(default_factory=dict)  # literals built, see built
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_RENDER_SECONDS)

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise RenderError(f"template does too much work (over {MAX_STEPS} loop iterations, calls and filter items)")
        self.check_deadline()

    def check_deadline(self) -> None:
        # Waiting on the secret store is not the template's work (see Secrets.waited_seconds).
        if time.monotonic() > self.deadline + self.secrets.waited_seconds:
            raise RenderError(f"template takes too long to render (over {MAX_RENDER_SECONDS} s)")

    def produce(self, chars: int) -> None:
        """Every string a render creates counts, kept or not: buffered output ({% set %} blocks,
        macros, {% filter %}, {% call %}) holds memory long before it is joined and measured."""
        self.produced += chars + PIECE_CHARS
        if self.produced > MAX_PRODUCED_CHARS:
            raise RenderError(
                f"template produces over {MAX_PRODUCED_CHARS} characters (buffered output included)")
        self.check_deadline()

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


# --- size checks -------------------------------------------------------------------------

def approx_size(
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
    if approx_size(value, limit, printing=printing) > limit:
        raise too_big(limit)


def checked_result(value: Any) -> Any:
    """Refuse a too long str or list made by a call, filter or operator; charge for its size.

    A list or tuple counts as produced too (a reference per item, and the text of its
    strings, which `split`, `partition` or `|list` create): kept in `{% set %}`s or macro
    frames, lists a few calls each could otherwise hold gigabytes."""
    if isinstance(value, str | list | tuple):
        if len(value) > MAX_RENDERED_CHARS:
            raise too_big()
        state = current_state()
        if isinstance(value, str):
            state.charge(len(value) // 1024)  # copying text costs time too
            state.produce(len(value))
        else:
            text = sum(len(item) for item in value if isinstance(item, str))
            state.charge(len(value) // 1024)
            state.produce(text + PIECE_CHARS * len(value))
    return value


def joined(parts: Iterable[Any]) -> str:
    """Environment.concat: joins buffered output (macros, `{% set %}` and filter blocks)."""
    parts = list(parts)  # the buffer holds references, so it is small until joined
    size = sum(len(part) if isinstance(part, str) else approx_size(part, MAX_RENDERED_CHARS) for part in parts)
    if size > MAX_RENDERED_CHARS:
        raise too_big()
    state = current_state()
    state.charge(size // 1024)
    state.produce(size)
    return "".join(str(part) for part in parts)


def tilde(operands: list[Any]) -> str:
    """`a ~ b`, measured before joining (the template is rewritten to call this)."""
    check_size(operands, printing=True)
    text = "".join(str(operand) for operand in operands)
    state = current_state()
    state.charge(len(text) // 1024)
    state.produce(len(text))
    return text


class TemplateText(str):
    """Text written in the template itself: printed as is, in the URL too."""


@pass_context  # Jinja never folds a filter that takes the context: it runs each time
def literal(context: Context, text: str) -> TemplateText:
    """Template text, rewritten as an expression so finalize counts it (see _Guards)."""
    return TemplateText(text)


def built(value: Any) -> Any:
    """A list, tuple or map literal: measured when built, so `{% set a = [a, a] %}` cannot grow
    a value whose comparison, hashing or printing would take hours (shared references count
    each time they occur)."""
    state = current_state()
    size = approx_size(value, MAX_REQUEST_CHARS, known=state.sizes)
    state.charge(1 + len(value) // 64)
    if size > MAX_REQUEST_CHARS:
        raise too_big(MAX_REQUEST_CHARS)
    state.sizes[id(value)] = (value, size)  # the value is kept alive, so its id stays its own
    return value


def loop_guard(iterable: Any) -> Iterator[Any]:
    """Wraps every `{% for %}` iterable so each iteration is charged to the step budget."""
    return _counted(iterable, current_state())


def _counted(iterable: Any, state: RenderState) -> Iterator[Any]:
    for item in iterable:
        state.charge(1)
        yield item


# --- operators ---------------------------------------------------------------------------

def check_binop(operator: str, left: Any, right: Any) -> None:
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
    if approx_size(left, MAX_RENDERED_CHARS) + approx_size(right, MAX_RENDERED_CHARS) > MAX_RENDERED_CHARS:
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
        size = max(len(sequence), approx_size(sequence, MAX_RENDERED_CHARS) - 2)
    if size * times > MAX_RENDERED_CHARS:
        raise too_big()
