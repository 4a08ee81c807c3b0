"""W3C Trace Context: the trace id of a request, from its `traceparent` header.

The Lambda sends `traceparent: 00-<trace-id>-<parent-id>-<flags>`; the journal keeps the trace
id so a test (or the testbed's timeline) can find the requests of one execution by id.
"""

import re

# version-traceid-parentid-flags, lower-case hex (https://www.w3.org/TR/trace-context/#traceparent-header)
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_INVALID_TRACE_ID = "0" * 32


def trace_id(headers: dict[str, str]) -> str | None:
    """The trace id of a well-formed `traceparent` header (any case of the name), else None."""
    value = next((v for k, v in headers.items() if k.lower() == "traceparent"), None)
    if value is None:
        return None
    match = _TRACEPARENT.match(value.strip())
    if not match or match.group(1) == "ff" or match.group(2) == _INVALID_TRACE_ID:
        return None
    return match.group(2)
