"""What happened in one execution, as data: states, Lambda attempts, log lines, HTTP exchanges.

`build` is pure: it takes the execution's description and history, the Lambda log lines and
the mock API journal entries that carry the execution's id (see timeline_sources.py, which
fetches them), and returns a `Timeline` that the views render (timeline_view.py) or print as
JSON. Offsets are milliseconds from the execution's start.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from testbed.runs import masking

BODY_LIMIT = 2000  # characters of a request or response body kept for display
_ATTEMPT_END = {
    "TaskSucceeded": "succeeded", "TaskFailed": "failed", "TaskTimedOut": "timed out",
    "LambdaFunctionSucceeded": "succeeded", "LambdaFunctionFailed": "failed", "LambdaFunctionTimedOut": "timed out",
}
_ATTEMPT_START = frozenset({"TaskScheduled", "LambdaFunctionScheduled"})


@dataclass(frozen=True)
class StateSpan:
    name: str
    type: str  # Task, Choice, Pass, Fail, Succeed, ...
    start_ms: int
    duration_ms: int | None  # None: never exited (a Fail state, or still running)


@dataclass(frozen=True)
class Attempt:
    number: int
    state: str
    start_ms: int
    duration_ms: int | None
    outcome: str  # succeeded, failed, timed out, running
    error: str | None = None
    cause: str | None = None
    backoff_ms: int | None = None  # wait before the next attempt of the same state


@dataclass(frozen=True)
class LogLine:
    offset_ms: int
    stream: str
    message: str


@dataclass(frozen=True)
class HttpExchange:
    offset_ms: int | None
    method: str
    url: str  # secrets masked
    status: int | None
    elapsed_ms: float | None
    fault: str | None
    request_headers: dict[str, str]
    request_body: str
    response_headers: dict[str, str]
    response_body: str


@dataclass(frozen=True)
class Timeline:
    execution_arn: str
    name: str
    status: str
    trace_id: str
    template: str | None
    method: str | None
    started_at: str
    duration_ms: int | None
    states: list[StateSpan] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    logs: list[LogLine] | None = None  # None: the logs could not be read
    exchanges: list[HttpExchange] | None = None  # None: no mock API to ask
    output: Any = None
    error: str | None = None
    cause: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build(
    described: dict[str, Any],
    history: list[dict[str, Any]],
    trace_id: str,
    log_events: list[dict[str, Any]] | None,
    journal: list[dict[str, Any]] | None,
) -> Timeline:
    """`log_events`: CloudWatch events ({timestamp ms, message, logStreamName}); `journal`: mock API entries."""
    start = _started(described, history)
    execution_input = _json(described.get("input")) or {}
    stop = described.get("stopDate")
    return Timeline(
        execution_arn=described["executionArn"],
        name=described.get("name") or described["executionArn"].rsplit(":", 1)[-1],
        status=described["status"],
        trace_id=trace_id,
        template=execution_input.get("templateName") if isinstance(execution_input, dict) else None,
        method=execution_input.get("method") if isinstance(execution_input, dict) else None,
        started_at=start.isoformat(),
        duration_ms=_ms(start, stop) if isinstance(stop, datetime) else None,
        states=_states(history, start),
        attempts=_attempts(history, start),
        logs=None if log_events is None else [
            LogLine(offset_ms=int(event["timestamp"] - start.timestamp() * 1000),
                    stream=event.get("logStreamName", ""), message=event["message"].rstrip("\n"))
            for event in sorted(log_events, key=lambda e: (e["timestamp"], e.get("eventId", "")))
        ],
        exchanges=None if journal is None else [_exchange(entry, start) for entry in journal],
        output=_json(described.get("output")),
        error=described.get("error"),
        cause=_cause_text(described.get("cause")),
    )


def _started(described: dict[str, Any], history: list[dict[str, Any]]) -> datetime:
    for event in history:
        if event["type"] == "ExecutionStarted":
            started: datetime = event["timestamp"]
            return started
    first: datetime = described["startDate"]
    return first


def _ms(start: datetime, moment: datetime) -> int:
    return round((moment - start).total_seconds() * 1000)


def _states(history: list[dict[str, Any]], start: datetime) -> list[StateSpan]:
    spans: list[StateSpan] = []
    open_spans: dict[str, tuple[str, datetime]] = {}
    order: list[str] = []
    for event in history:
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            open_spans[name] = (event["type"].removesuffix("StateEntered"), event["timestamp"])
            order.append(name)
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            if name in open_spans:
                kind, entered = open_spans.pop(name)
                began = _ms(start, entered)
                spans.append(StateSpan(name, kind, began, _ms(start, event["timestamp"]) - began))
    for name, (kind, entered) in open_spans.items():
        spans.append(StateSpan(name, kind, _ms(start, entered), None))
    return sorted(spans, key=lambda span: (span.start_ms, order.index(span.name)))


def _attempts(history: list[dict[str, Any]], start: datetime) -> list[Attempt]:
    """Each Lambda invocation of a Task state, in order, with what ended it."""
    attempts: list[Attempt] = []
    state = ""
    current: tuple[str, datetime] | None = None
    for event in history:
        kind = event["type"]
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        elif kind in _ATTEMPT_START and _is_lambda(event):
            previous = attempts[-1] if attempts else None
            if previous is not None and previous.state == state and previous.duration_ms is not None:
                backoff = _ms(start, event["timestamp"]) - previous.start_ms - previous.duration_ms
                attempts[-1] = replace(previous, backoff_ms=max(backoff, 0))
            current = (state, event["timestamp"])
        elif kind in _ATTEMPT_END and current is not None:
            details: dict[str, Any] = next(
                (value for key, value in event.items() if key.endswith("EventDetails")), {})
            began = _ms(start, current[1])
            number = sum(1 for a in attempts if a.state == current[0]) + 1
            attempts.append(Attempt(
                number=number, state=current[0], start_ms=began, duration_ms=_ms(start, event["timestamp"]) - began,
                outcome=_ATTEMPT_END[kind], error=details.get("error"), cause=_cause_text(details.get("cause")),
            ))
            current = None
    if current is not None:
        number = sum(1 for a in attempts if a.state == current[0]) + 1
        attempts.append(Attempt(number, current[0], _ms(start, current[1]), None, "running"))
    return attempts


def _is_lambda(event: dict[str, Any]) -> bool:
    details = event.get("taskScheduledEventDetails")
    if details is None:
        return event["type"] == "LambdaFunctionScheduled"
    return details.get("resourceType") == "lambda" or ":lambda:" in details.get("resource", "")


def _cause_text(cause: str | None) -> str | None:
    """A Lambda error's Cause is JSON ({errorMessage, errorType, ...}); show its message."""
    parsed = _json(cause)
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return parsed["errorMessage"]
    return cause


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _exchange(entry: dict[str, Any], start: datetime) -> HttpExchange:
    response = entry.get("response") or {}
    received = entry.get("receivedAt")
    offset = None
    if isinstance(received, str):
        offset = _ms(start, datetime.fromisoformat(received.replace("Z", "+00:00")))
    host = next((v for k, v in entry.get("headers", {}).items() if k.lower() == "host"), "")
    query = f"?{entry['rawQuery']}" if entry.get("rawQuery") else ""
    return HttpExchange(
        offset_ms=offset,
        method=entry.get("method", ""),
        url=masking.url(f"http://{host}{entry.get('rawPath', '')}{query}"),
        status=response.get("status"),
        elapsed_ms=response.get("elapsedMs"),
        fault=response.get("fault"),
        request_headers=masking.headers(entry.get("headers", {})),
        request_body=masking.truncate(entry.get("body", ""), BODY_LIMIT),
        response_headers=masking.headers(response.get("headers", {})),
        response_body=masking.truncate(response.get("body", ""), BODY_LIMIT),
    )
