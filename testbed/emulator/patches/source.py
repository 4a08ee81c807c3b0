"""Tools for small, checked source patches of MiniStack functions.

A patch names the upstream function, the exact text it replaces, and the SHA-256 of the
function's source as pinned here (MiniStack 1.5.33). At start-up a patch refuses to apply
when its text is missing, so a MiniStack upgrade never runs half-patched; the unit test
tests/unit/test_emulator_patches.py compares the full hashes, so any upstream change to a
patched function is re-read before the pin moves.
"""

from __future__ import annotations

import hashlib
import inspect
import textwrap
from types import FunctionType
from typing import Any

PATCHED_MARK = "__testbed_patch__"
# (code, text) of a source-patched function; functools.wraps copies it onto a wrapper, whose
# own code then differs, which is how a wrapper is told apart.
EDITED_SOURCE = "__testbed_source__"


class PatchError(RuntimeError):
    """The upstream code a patch relies on is not there: MiniStack changed."""


def source_sha256(obj: Any) -> str:
    """SHA-256 of an object's source text (a function, class or string constant)."""
    text = obj if isinstance(obj, str) else inspect.getsource(obj)
    return hashlib.sha256(text.encode()).hexdigest()


def replace_once(text: str, old: str, new: str, where: str) -> str:
    """`text` with the one occurrence of `old` replaced; PatchError if not exactly one."""
    count = text.count(old)
    if count != 1:
        raise PatchError(
            f"{where}: expected the upstream text exactly once, found it {count} times: {old.strip()!r}. "
            "MiniStack changed; re-read the patch in testbed/emulator/patches/ against the new source."
        )
    return text.replace(old, new)


def patch_function_source(owner: Any, name: str, old: str, new: str, patch_name: str) -> None:
    """Recompile `owner.name` (a module function or a class's method) with `old` replaced by `new`.

    The function is compiled in its module's own namespace, so it sees what upstream's sees;
    callers that look it up by name (as MiniStack's own code does) get the patched version.
    Applying twice is a no-op, also when another patch has wrapped the function since.
    Edits of one function by several patches add up (each starts from the text the last one
    left); an edit on top of a wrapper is refused, as recompiling would drop the wrapper.
    """
    original = getattr(owner, name)
    layer = original
    while layer is not None:
        if getattr(layer, PATCHED_MARK, None) == patch_name:
            return
        layer = getattr(layer, "__wrapped__", None)
    if not isinstance(original, FunctionType):
        raise PatchError(f"{owner.__name__}.{name} is not a plain function any more")
    where = f"{original.__module__}.{original.__qualname__}"
    code, edited = getattr(original, EDITED_SOURCE, (None, None))
    if code is not original.__code__:
        edited = None
    if edited is None and hasattr(original, "__wrapped__"):
        raise PatchError(f"{where} is wrapped by patch {getattr(original, PATCHED_MARK, '?')!r}; "
                         f"apply {patch_name!r} before it (the order of testbed.emulator.patches.PATCHES)")
    text = edited if edited is not None else textwrap.dedent(inspect.getsource(original))
    source = replace_once(text, old, new, where)
    code = compile(source, inspect.getsourcefile(original) or where, "exec")
    namespace: dict[str, Any] = {}
    exec(code, original.__globals__, namespace)  # upstream source with one checked edit
    patched = namespace[name]
    setattr(patched, PATCHED_MARK, patch_name)
    setattr(patched, EDITED_SOURCE, (patched.__code__, source))
    patched.__wrapped__ = original
    patched.__qualname__ = original.__qualname__
    setattr(owner, name, patched)


def upstream_object(dotted: str) -> Any:
    """The object a dotted name refers to, unwrapped down to upstream's own (for hashing)."""
    import importlib

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return inspect.unwrap(obj) if callable(obj) else obj
    raise PatchError(f"cannot import {dotted}")


def replace_function(owner: Any, name: str, replacement: Any, patch_name: str) -> None:
    """Put `replacement` in place of `owner.name` (a seam the patch re-implements); idempotent.

    Upstream's function stays reachable as `__wrapped__` (for hashing and for delegation).
    """
    original = getattr(owner, name)
    if applied(original, patch_name):
        return
    setattr(replacement, PATCHED_MARK, patch_name)
    replacement.__wrapped__ = original
    setattr(owner, name, replacement)


def applied(function: Any, patch_name: str) -> bool:
    """Whether `patch_name` already edited or wrapped `function`, at any layer."""
    layer = function
    while layer is not None:
        if getattr(layer, PATCHED_MARK, None) == patch_name:
            return True
        layer = getattr(layer, "__wrapped__", None)
    return False
