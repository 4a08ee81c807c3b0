"""W3C trace context for the outgoing request, derived from the Step Functions execution.

The state machine passes `executionId` (`$$.Execution.Id`, the execution ARN). The trace id
is a pure function of it, so the harness computes the same id from the ARN it started and
finds the Lambda's log line and the mock API's journal entry without any time window.
"""

from __future__ import annotations

import hashlib
import os

TRACEPARENT = "traceparent"
# Owned by the Lambda: a template that set them could place its request and log line in
# another execution's timeline. template.py refuses them, handler.py replaces them.
TRACE_HEADERS = frozenset({TRACEPARENT, "tracestate"})


def trace_id_for(execution_id: str) -> str:
    """The 32 hex digits of the trace id: the start of sha256(executionId)."""
    return hashlib.sha256(execution_id.encode("utf-8")).hexdigest()[:32]


def new_parent_id() -> str:
    """16 hex digits, never all zero (W3C: an all-zero parent id is invalid)."""
    while True:
        parent = os.urandom(8).hex()
        if parent != "0" * 16:
            return parent


def traceparent(trace_id: str, parent_id: str) -> str:
    return f"00-{trace_id}-{parent_id}-01"
