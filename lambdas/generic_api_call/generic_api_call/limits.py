"""Every budget of the Lambda in one place: rendering, the upstream answer, the result, errors.

The render budgets are enforced by budget.py (while rendering), the answer and result
budgets by http_call.py and `fit_result` here, the message cap by handler.py (after
masking, see secrets.Secrets.cut). Each bound is a number of characters of JSON, so the
result always fits Step Functions' 256 KiB payload limit, whatever the upstream sends.
"""

from __future__ import annotations

import json
from typing import Any

from .secrets import MASK, Secrets

# --- rendering (budget.py) ----------------------------------------------------------------
MAX_RENDERED_CHARS = 64 * 1024  # one rendered string: the URL, a header, a query value, a body
# A template's url, headers, query and body together, in characters of JSON (text_chars). Compiling
# costs up to ~35 us per character (a 350 KB template, which DynamoDB allows, took 4 s); at 16 KiB
# it stays under 0.6 s, so even a map body with more strings than the compile cache holds, compiled
# again inside each render, leaves the render deadline most of its 2 s.
MAX_TEMPLATE_CHARS = 16 * 1024
# Python compiles a template's code with fixed limits: 20 nested loops, 100 indentation levels,
# 200 nested brackets. A template within these two compiles (a real one nests 3 or 4 blocks);
# nesting costs compile time too (200 chained filters took 3.5 s).
MAX_BLOCK_NESTING = 10  # {% for %}, {% if %}, {% macro %}... inside one another
MAX_TEMPLATE_DEPTH = 50  # any syntax inside another: blocks, filters, brackets, operators
MAX_REQUEST_CHARS = 192 * 1024  # everything rendered for one request
MAX_PRODUCED_CHARS = 1024 * 1024  # every string a render creates, kept or not (buffers, macros, ~)
PIECE_CHARS = 8  # each piece of output also costs this much (a reference in a buffer), even when empty
MAX_STEPS = 100_000  # loop iterations + calls + filter input sizes, per render
MAX_RENDER_SECONDS = 2.0  # backstop for steps that each do a lot of work (the Lambda has 30 s)
CALL_STEPS = 10  # a call (macro, method, range...) costs about ten loop iterations
MAX_INT_BITS = 8192  # `*` and `**` on integers; ~2,500 digits is plenty for an API call
# |round's precision: Python computes 10**precision for it in one C call (round(5, -30000000)
# took 52 s), which no deadline check can interrupt. Floats carry 17 significant digits.
MAX_ROUND_DIGITS = 20

# --- the upstream's answer and the result (http_call.py) ----------------------------------
MAX_BODY_BYTES = 128 * 1024  # response body kept, after decompression
MAX_RESULT_CHARS = 192 * 1024  # the whole result as JSON; Step Functions' limit is 256 KiB
MAX_HEADERS = 50
MAX_HEADER_NAME_CHARS = 256
MAX_HEADER_VALUE_CHARS = 1024  # also the content type
MAX_HEADERS_JSON_CHARS = 32 * 1024  # all response headers together, as JSON
MAX_JSON_DEPTH = 64  # a JSON body nested deeper is returned as text
MAX_REDIRECTS = 3

# --- errors (handler.py) -------------------------------------------------------------------
MAX_MESSAGE_CHARS = 1000  # the error message becomes the Cause (AWS caps it at 32 KiB)


def json_chars(value: Any) -> int:
    """Characters of `value` as JSON with ASCII escapes: an upper bound of its UTF-8 bytes."""
    return len(json.dumps(value))


def text_chars(value: Any) -> int:
    """Characters of `value` as JSON without ASCII escapes: what compiling it costs (é counts 1, not 6)."""
    return len(json.dumps(value, ensure_ascii=False))


def capped_headers(headers: Any, secrets: Secrets) -> tuple[dict[str, str], bool]:
    """At most MAX_HEADERS response headers, each cut (after masking), all within MAX_HEADERS_JSON_CHARS."""
    kept: dict[str, str] = {}
    size, cut = 2, False
    for index, (name, value) in enumerate(headers.items()):
        if index >= MAX_HEADERS:
            return kept, True
        name, value = str(name), str(value)
        cut = cut or len(name) > MAX_HEADER_NAME_CHARS or len(value) > MAX_HEADER_VALUE_CHARS
        name = secrets.cut(name, MAX_HEADER_NAME_CHARS)
        value = secrets.cut(value, MAX_HEADER_VALUE_CHARS)
        size += json_chars(name) + json_chars(value) + 4
        if size > MAX_HEADERS_JSON_CHARS:
            return kept, True
        kept[name] = value
    return kept, cut


def fit_result(result: dict[str, Any], secrets: Secrets) -> dict[str, Any]:
    """Keep the result's JSON under MAX_RESULT_CHARS in bounded steps, whatever the body holds.

    Every other field is already bounded (capped_headers, the content type), so the room
    left for the body is always positive; the body is cut by binary search on its length.
    """
    if json_chars(result) <= MAX_RESULT_CHARS:
        return result
    body = result["body"] if isinstance(result["body"], str) else json.dumps(result["body"])
    fitted = {**result, "body": "", "truncated": True}
    room = MAX_RESULT_CHARS - json_chars(fitted) - len(MASK) - 2  # mask_tail may add a MASK
    low, high = 0, len(body)  # the longest prefix whose JSON fits lies in [low, high]
    while low < high:
        middle = (low + high + 1) // 2
        if json_chars(body[:middle]) - 2 <= room:
            low = middle
        else:
            high = middle - 1
    return {**fitted, "body": secrets.mask_tail(body[:low])}  # the body was masked before


def json_depth_within(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Is parsed JSON nested at most `limit` deep? (Iterative: a deep value cannot overflow the stack.)"""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list | tuple):
            if depth > limit:
                return False
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True
