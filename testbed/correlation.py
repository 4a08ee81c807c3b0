"""One id per execution, end to end: the W3C trace id derived from the execution ARN.

The state machine passes `$$.Execution.Id` to the Lambda, which sends
`traceparent: 00-<trace id>-<parent id>-01` and logs both ids; the mock API journals the
trace id. The rule is the Lambda's own (`generic_api_call.trace`, the code that runs on AWS).
"""

from __future__ import annotations

from generic_api_call.trace import trace_id_for

__all__ = ["trace_id_for"]
