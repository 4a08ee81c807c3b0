"""What happened in one execution, as data: states, Lambda attempts, log lines, HTTP exchanges.

`build` is pure: it takes the execution's description and history, the Lambda log lines and
the mock API journal entries that carry the execution's id (see timeline_sources.py, which
fetches them), and returns a `Timeline` that the views render (timeline_view.py) or print as
JSON. Offsets are milliseconds from the execution's start.

Every string of the timeline goes through the execution's `Masker` (masking.py) once it is
built, whatever field it is in; stored JSON is parsed with a depth guard (stored_json.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from typing import Any

from testbed.runs import stored_json
from testbed.runs.masking import Masker, by_names

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
    url: str
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
    notes: list[str] = field(default_factory=list)  # what is not shown as stored, and why (masking, depth)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build(
    described: dict[str, Any],
    history: list[dict[str, Any]],
    trace_id: str,
    log_events: list[dict[str, Any]] | None,
    journal: list[dict[str, Any]] | None,
    masker: Masker | None = None,
) -> Timeline:
    """`log_events`: CloudWatch events ({timestamp ms, message, logStreamName}); `journal`: mock API
    entries; `masker`: the execution's secrets (default: masking by names only, said in a note)."""
    masker = masker or by_names("the template's secrets were not looked up")
    notes = [masker.note] if masker.note else []
    start = _started(described, history)
    parsed_input = stored_json.parse(described.get("input"), "the execution's input")
    output = stored_json.parse(described.get("output"), "the execution's output")
    notes += [p.note for p in (parsed_input, output) if p.note]
    execution_input = parsed_input.value if isinstance(parsed_input.value, dict) else {}
    stop = described.get("stopDate")
    timeline = Timeline(
        execution_arn=described["executionArn"],
        name=described.get("name") or described["executionArn"].rsplit(":", 1)[-1],
        status=described["status"],
        trace_id=trace_id,
        template=_text_or_none(execution_input.get("templateName")),
        method=_text_or_none(execution_input.get("method")),
        started_at=start.isoformat(),
        duration_ms=_ms(start, stop) if isinstance(stop, datetime) else None,
        states=_states(history, start),
        attempts=_attempts(history, start),
        logs=None if log_events is None else [
            LogLine(offset_ms=int(event["timestamp"] - start.timestamp() * 1000),
                    stream=event.get("logStreamName", ""), message=event["message"].rstrip("\n"))
            for event in sorted(log_events, key=lambda e: (e["timestamp"], e.get("eventId", "")))
        ],
        exchanges=None if journal is None else [_exchange(entry, start, masker) for entry in journal],
        output=output.value,
        error=described.get("error"),
        cause=_cause_text(described.get("cause")),
        notes=notes,
    )
    masked: Timeline = _masked(timeline, masker)
    return masked


def _masked(value: Any, masker: Masker) -> Any:
    """Every string in the timeline, at any place (fields, lists, map keys and values), masked."""
    if is_dataclass(value) and not isinstance(value, type):
        return replace(value, **{f.name: _masked(getattr(value, f.name), masker) for f in fields(value)})
    if isinstance(value, list):
        return [_masked(item, masker) for item in value]
    if isinstance(value, dict | str):
        return masker.data(value)  # depth bounded: stored JSON was parsed by stored_json
    return value


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


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
    """An attempt of a Lambda: a Task on a Lambda ARN, or the lambda:invoke integration."""
    if event["type"] == "LambdaFunctionScheduled":
        return True
    return (event.get("taskScheduledEventDetails") or {}).get("resourceType") == "lambda"


def _cause_text(cause: str | None) -> str | None:
    """A Lambda error's Cause is JSON ({errorMessage, errorType, ...}); show its message."""
    parsed = stored_json.parse(cause, "the Cause")
    if isinstance(parsed.value, dict) and isinstance(parsed.value.get("errorMessage"), str):
        return str(parsed.value["errorMessage"])
    return f"({parsed.note}) {parsed.value}" if parsed.note else cause


def _exchange(entry: dict[str, Any], start: datetime, masker: Masker) -> HttpExchange:
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
        url=masker.url(f"http://{host}{entry.get('rawPath', '')}{query}"),
        status=response.get("status"),
        elapsed_ms=response.get("elapsedMs"),
        fault=response.get("fault"),
        request_headers=masker.headers(entry.get("headers", {})),
        request_body=masker.body(entry.get("body", ""), BODY_LIMIT, bool(entry.get("bodyTruncated"))),
        response_headers=masker.headers(response.get("headers", {})),
        response_body=masker.body(response.get("body", ""), BODY_LIMIT, bool(response.get("bodyTruncated"))),
    )
