"""One id per execution, end to end: the W3C trace id derived from the execution ARN.

The state machine passes `$$.Execution.Id` to the Lambda, which sends
`traceparent: 00-<trace id>-<parent id>-01` and logs the ids; the mock API journals the
trace id. The rule lives in the Lambda's package (`generic_api_call.trace`, the code that
runs on AWS); until that module is there, the same rule is applied here.
"""

from __future__ import annotations

import hashlib

try:  # the Lambda's own rule, when its package has it
    from generic_api_call.trace import trace_id_for as _lambda_trace_id_for  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on which branch is checked out
    _lambda_trace_id_for = None


def trace_id_for(execution_arn: str) -> str:
    """The 32 lower-case hex digits of the W3C trace id of an execution."""
    if _lambda_trace_id_for is not None:
        return str(_lambda_trace_id_for(execution_arn))
    return hashlib.sha256(execution_arn.encode()).hexdigest()[:32]
