"""TestState with a mocked error: Retry is decided before Catch, as on AWS.

Upstream (`_test_state`, MiniStack 1.5.33) looks for a matching `Catch` first, so a Task
with both (ours: Retry on UpstreamTimeout, Catch on States.ALL) answers CAUGHT_ERROR even
when retries are left. AWS's TestState answers RETRIABLE while the matching retrier has
attempts left (`stateConfiguration.retrierRetryCount` says how many were used), with
`inspectionData.errorDetails` (backoff and retrier index); only then Catch or FAILED.

Patched: that RETRIABLE case is answered here; everything else goes to upstream.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

NAME = "test-state-retry"
UPSTREAM = {
    "ministack.services.stepfunctions._test_state":
        "f408b75eedff9a94f0410d7f14c30941045a084d6d2884c4de3142f92292cb97",
    "ministack.services.stepfunctions._find_matching_retrier":
        "cb494ae8503cce39ee49c409d9c1946a51cbf7709a67b5f5ce376db5a0c79170",
}


def retriable(data: dict[str, Any]) -> dict[str, Any] | None:
    """The TestState answer when a mocked error has a retrier with attempts left, else None."""
    mock = data.get("mock")
    mock = json.loads(mock) if isinstance(mock, str) else mock
    if not isinstance(mock, dict) or not isinstance(mock.get("errorOutput"), dict):
        return None
    definition = data.get("definition")
    definition = json.loads(definition) if isinstance(definition, str) else definition
    if not isinstance(definition, dict):
        return None
    if "States" in definition:
        state = definition["States"].get(data.get("stateName") or definition.get("StartAt"))
    else:
        state = definition
    if not isinstance(state, dict):
        return None
    error = mock["errorOutput"].get("error", "MockError")
    cause = mock["errorOutput"].get("cause", "Mocked failure")
    used = int((data.get("stateConfiguration") or {}).get("retrierRetryCount", 0))
    for index, retrier in enumerate(state.get("Retry", [])):
        names = retrier.get("ErrorEquals", [])
        if "States.ALL" in names or error in names or ("States.TaskFailed" in names and error != "States.Timeout"):
            if used >= retrier.get("MaxAttempts", 3):
                return None  # used up: Catch or FAILED, as upstream decides
            result: dict[str, Any] = {"status": "RETRIABLE", "error": error, "cause": cause}
            if data.get("inspectionLevel") in ("DEBUG", "TRACE"):
                backoff = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** used
                result["inspectionData"] = {"errorDetails": {
                    "retryBackoffIntervalSeconds": int(min(backoff, retrier.get("MaxDelaySeconds", backoff))),
                    "retryIndex": index,
                }}
            return result
    return None


def apply() -> None:
    from ministack.core.responses import json_response
    from ministack.services import stepfunctions

    if getattr(stepfunctions._test_state, "__testbed_patch__", None) != NAME:
        stepfunctions._test_state = _retry_first(stepfunctions._test_state, json_response)


def _retry_first(test_state: Callable[[dict[str, Any]], Any], respond: Callable[[Any], Any]) -> Callable[..., Any]:
    @functools.wraps(test_state)
    def patched(data: dict[str, Any]) -> Any:
        try:
            answer = retriable(data) if isinstance(data, dict) else None
        except (ValueError, TypeError, AttributeError):
            answer = None  # malformed request: upstream reports it
        return respond(answer) if answer else test_state(data)

    patched.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return patched
