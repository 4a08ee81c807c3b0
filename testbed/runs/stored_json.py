"""Parse JSON that an execution stored (its input, output, a Cause) without trusting its depth.

Step Functions accepts an input nested thousands of levels deep; `json.loads` then raises
RecursionError, and anything recursive after it (masking, `asdict`, `json.dumps`, rich) can
too. Such a value is kept as text, cut, with a note saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generic_api_call.limits import MAX_JSON_DEPTH, json_depth_within

# The Lambda returns a body nested at most MAX_JSON_DEPTH deep; its result and the execution's
# input wrap it in a few levels more.
DEPTH_LIMIT = MAX_JSON_DEPTH + 4
TEXT_LIMIT = 2000  # characters of an unparsed value kept for display


@dataclass(frozen=True)
class Parsed:
    value: Any  # the parsed value; the text itself when it is not JSON; a cut text when too deep
    note: str | None = None  # why the value is not what was stored


def parse(text: str | None, what: str) -> Parsed:
    """`what` names the value in the note (e.g. "the execution's input")."""
    if not text:
        return Parsed(None)
    try:
        value = json.loads(text)
    except RecursionError:
        return _too_deep(text, what)
    except ValueError:
        return Parsed(text)
    if not json_depth_within(value, DEPTH_LIMIT):
        return _too_deep(text, what)
    return Parsed(value)


def _too_deep(text: str, what: str) -> Parsed:
    cut = text if len(text) <= TEXT_LIMIT else f"{text[:TEXT_LIMIT]}… ({len(text) - TEXT_LIMIT} more characters)"
    return Parsed(cut, f"{what} is JSON nested deeper than {DEPTH_LIMIT} levels: shown as unparsed text")
