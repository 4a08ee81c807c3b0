"""The timeline model: states, attempts with backoff, joins by id, masking (pure functions)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console

from generic_api_call.errors import RenderError
from generic_api_call.secrets import MASK, forms
from generic_api_call.trace import trace_id_for
from testbed.runs import masking, timeline_view
from testbed.runs.inert import json_text
from testbed.runs.timeline import BODY_LIMIT, build
from testbed.runs.timeline_sources import _invocations_with, execution_arn

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:states:us-east-1:000000000000:execution:ApiCallStateMachine:run-1"
LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:GenericApiCallLambda"


def event(ms: int, kind: str, **details: Any) -> dict[str, Any]:
    return {"timestamp": T0 + timedelta(milliseconds=ms), "type": kind, **details}


def entered(ms: int, kind: str, name: str) -> dict[str, Any]:
    return event(ms, f"{kind}StateEntered", stateEnteredEventDetails={"name": name})


def exited(ms: int, kind: str, name: str) -> dict[str, Any]:
    return event(ms, f"{kind}StateExited", stateExitedEventDetails={"name": name})


def scheduled(ms: int) -> list[dict[str, Any]]:
    """A Lambda ARN task's attempt opens as AWS records it: scheduled, then started."""
    details = {"resource": LAMBDA, "input": "{}"}
    return [event(ms, "LambdaFunctionScheduled", lambdaFunctionScheduledEventDetails=details),
            event(ms, "LambdaFunctionStarted")]


def failed(ms: int) -> dict[str, Any]:
    cause = json.dumps({"errorMessage": "GET http://api/status/503 answered HTTP 503",
                        "errorType": "UpstreamUnavailable", "requestId": "r-1", "stackTrace": []})
    return event(ms, "LambdaFunctionFailed",
                 lambdaFunctionFailedEventDetails={"error": "UpstreamUnavailable", "cause": cause})


FAILING_HISTORY = [
    event(0, "ExecutionStarted"),
    entered(150, "Task", "InvokeLambdaToCallAPI"),
    *scheduled(150), failed(250),
    *scheduled(1250), failed(1400),
    *scheduled(3400), failed(3500),
    exited(3500, "Task", "InvokeLambdaToCallAPI"),
    entered(3501, "Fail", "HandleFailure"),
    event(3502, "ExecutionFailed"),
]
DESCRIBED = {
    "executionArn": ARN, "name": "run-1", "status": "FAILED", "startDate": T0,
    "stopDate": T0 + timedelta(milliseconds=3502),
    "input": json.dumps({"templateName": "get_status", "method": "GET", "params": {"code": "503"}}),
    "error": "UpstreamUnavailable", "cause": "GET http://api/status/503 answered HTTP 503",
}


def test_every_attempt_has_its_error_and_the_backoff_before_the_next() -> None:
    timeline = build(DESCRIBED, FAILING_HISTORY, "t" * 32, [], [])
    assert [(a.number, a.start_ms, a.duration_ms, a.outcome) for a in timeline.attempts] == [
        (1, 150, 100, "failed"), (2, 1250, 150, "failed"), (3, 3400, 100, "failed")]
    assert [a.backoff_ms for a in timeline.attempts] == [1000, 2000, None]
    assert timeline.attempts[0].error == "UpstreamUnavailable"
    assert timeline.attempts[0].cause == "GET http://api/status/503 answered HTTP 503"  # errorMessage, not the JSON
    assert [(s.name, s.start_ms, s.duration_ms) for s in timeline.states] == [
        ("InvokeLambdaToCallAPI", 150, 3350), ("HandleFailure", 3501, None)]
    assert (timeline.template, timeline.method, timeline.duration_ms) == ("get_status", "GET", 3502)


def test_attempts_are_read_from_the_history_aws_records() -> None:
    # getItem (a service integration) is no Lambda attempt; lambda:invoke and a Lambda ARN are.
    def task(ms: int, kind: str, resource: str, outcome: str) -> list[dict[str, Any]]:
        named = {"resourceType": kind, "resource": resource}
        return [event(ms, "TaskScheduled", taskScheduledEventDetails={**named, "parameters": "{}"}),
                event(ms, "TaskStarted", taskStartedEventDetails=named),
                event(ms + 10, f"Task{outcome}", **{f"task{outcome}EventDetails": named})]

    history = [
        event(0, "ExecutionStarted"),
        entered(1, "Task", "FetchTemplateFromDynamoDB"), *task(1, "dynamodb", "getItem", "Succeeded"),
        entered(20, "Task", "Invoke"), *task(20, "lambda", "invoke", "TimedOut"),
        entered(40, "Task", "InvokeLambdaToCallAPI"), *scheduled(40),
        event(90, "LambdaFunctionSucceeded", lambdaFunctionSucceededEventDetails={"output": "{}"}),
        event(95, "ExecutionSucceeded"),
    ]
    timeline = build({**DESCRIBED, "status": "SUCCEEDED"}, history, "t" * 32, [], [])
    assert [(a.state, a.start_ms, a.duration_ms, a.outcome) for a in timeline.attempts] == [
        ("Invoke", 20, 10, "timed out"), ("InvokeLambdaToCallAPI", 40, 50, "succeeded")]


def test_journal_entries_become_masked_exchanges() -> None:
    entry = {
        "method": "GET", "rawPath": "/users/42", "rawQuery": "fields=a&api_key=s3cr3t-value",
        "headers": {"Host": "mock:8080", "Authorization": "Bearer abc", "Accept": "*/*"}, "body": "",
        "receivedAt": (T0 + timedelta(milliseconds=200)).isoformat().replace("+00:00", "Z"),
        "response": {"status": 200, "headers": {"Set-Cookie": "id=1"}, "body": '{"id": 42}', "elapsedMs": 1.5},
    }
    [exchange] = build(DESCRIBED, FAILING_HISTORY, "t" * 32, [], [entry]).exchanges or []
    assert exchange.url == "http://mock:8080/users/42?fields=a&api_key=[REDACTED]"
    assert exchange.request_headers["Authorization"] == "[REDACTED]"
    assert exchange.response_headers["Set-Cookie"] == "[REDACTED]"
    assert (exchange.offset_ms, exchange.status, exchange.response_body) == (200, 200, '{"id": 42}')


def test_log_invocations_are_joined_by_id_not_by_time() -> None:
    trace = trace_id_for(ARN)
    def line(message: str) -> dict[str, Any]:
        return {"timestamp": 1, "message": message, "logStreamName": "s"}
    events = [
        line("START RequestId: a Version: $LATEST"), line('{"traceId": "other"}'), line("REPORT RequestId: a"),
        line("START RequestId: b Version: $LATEST"), line(json.dumps({"traceId": trace})), line("REPORT RequestId: b"),
    ]
    kept = _invocations_with(events, (trace, ARN))
    assert kept[0]["message"] == "START RequestId: b Version: $LATEST"
    assert len(kept) == 3  # the whole invocation b, nothing of a, although both share a timestamp


def test_an_invocation_whose_params_name_another_execution_stays_out_of_its_timeline() -> None:
    """A caller's params reach the record's URL: an id there is not the record's own."""
    trace = trace_id_for(ARN)
    other = f"{ARN}-other"

    def invocation(request_id: str, record: dict[str, Any]) -> list[dict[str, Any]]:
        lines = [f"START RequestId: {request_id} Version: $LATEST",
                 f"INFO generic_api_call {json.dumps(record)}", f"REPORT RequestId: {request_id}"]
        return [{"timestamp": 1, "message": message, "logStreamName": "s"} for message in lines]

    smuggled = {"executionId": other, "traceId": trace_id_for(other),
                "url": f"http://mock/users/{trace}?q={quote(ARN)}&r={ARN}", "error": '{"traceId": "' + trace + '"}'}
    own = {"executionId": ARN, "traceId": trace, "url": "http://mock/users/42"}
    assert _invocations_with(invocation("a", smuggled) + invocation("b", own), (trace, ARN)) == invocation("b", own)


def test_trace_id_is_the_first_32_hex_of_sha256_of_the_arn() -> None:
    import hashlib

    assert trace_id_for(ARN) == hashlib.sha256(ARN.encode()).hexdigest()[:32]


def test_execution_names_and_arns() -> None:
    machine = "arn:aws:states:us-east-1:000000000000:stateMachine:ApiCallStateMachine"
    assert execution_arn(machine, "run-1") == ARN
    assert execution_arn(machine, ARN) == ARN


def test_the_view_has_no_colour_codes_off_a_terminal() -> None:
    buffer = io.StringIO()
    timeline_view.render(build(DESCRIBED, FAILING_HISTORY, "t" * 32, None, None), timeline_view.console(buffer))
    text = buffer.getvalue()
    assert "\x1b[" not in text
    assert "UpstreamUnavailable" in text and "backoff" in text and "HandleFailure" in text


def test_the_cli_imports_without_the_developer_tools() -> None:
    """The emulator image runs `python -m testbed seed` with the seed's pins only: no rich, no watchfiles."""
    import subprocess
    import sys

    code = "import sys; sys.modules['rich'] = sys.modules['watchfiles'] = None; import testbed.cli"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


# --- masking by the template's secrets (issue 20, defect 1) ------------------------------------

SECRET = "Zq9/XkW7+pL m3é-Vt"  # a slash, a plus, a space and a non-ASCII letter: every encoding differs


def _leaky_timeline(masker: masking.Masker | None) -> Any:
    """An execution whose journal, logs and result all hold SECRET, each in the form it travels in."""
    sent_header = SECRET.encode("utf-8").decode("latin-1")  # requests sends str headers as latin-1... read back
    entry = {
        "method": "POST", "rawPath": f"/users/{quote(SECRET, safe='')}", "rawQuery": "",
        "headers": {"Host": "mock:8080", "X-Client-Key": SECRET, "X-Other": sent_header},
        "body": json.dumps({"key": SECRET}),
        "response": {"status": 200, "headers": {}, "elapsedMs": 1.0,
                     "body": json.dumps({"headers": {"X-Client-Key": SECRET}, "body": json.dumps({"key": SECRET})})},
    }
    described = {**DESCRIBED, "status": "FAILED", "error": f"E {SECRET}", "cause": json.dumps({"errorMessage": SECRET})}
    logs = [{"timestamp": T0.timestamp() * 1000 + 5, "message": f"calling {quote(SECRET)}", "logStreamName": "s"}]
    return build(described, FAILING_HISTORY, "t" * 32, logs, [entry], masker)


def _shown(timeline: Any) -> str:
    buffer = io.StringIO()
    timeline_view.render(timeline, Console(file=buffer, highlight=False, width=10_000))
    return buffer.getvalue() + json_text(timeline.to_dict()) + json.dumps(timeline.to_dict(), ensure_ascii=False)


def test_the_templates_secrets_are_masked_in_every_field_and_encoding() -> None:
    masker = masking.resolved("t", ["/app/key"], lambda name: SECRET)
    timeline = _leaky_timeline(masker)
    shown = _shown(timeline)
    leaked = [form for form in forms(SECRET) if form in shown]
    assert leaked == [], f"forms of the secret in clear: {leaked}"
    [exchange] = timeline.exchanges
    assert exchange.url == f"http://mock:8080/users/{MASK}"
    assert exchange.request_headers["X-Client-Key"] == MASK and json.loads(exchange.request_body) == {"key": MASK}
    assert timeline.cause == MASK and timeline.error == f"E {MASK}" and not timeline.notes


def test_without_the_secrets_the_timeline_says_so() -> None:
    shown = _shown(_leaky_timeline(None))
    assert SECRET in shown  # only names are masked: the test above can fail
    assert "secrets not masked by value (the template's secrets were not looked up)" in shown


def test_an_unresolvable_secret_is_named_in_a_note() -> None:
    def store(name: str) -> str:
        raise RenderError(f"secret '{name}' could not be read (ParameterNotFound)")

    timeline = _leaky_timeline(masking.resolved("t", ["/app/key", "/app/gone"],
                                                lambda n: SECRET if n == "/app/key" else store(n)))
    assert [note for note in timeline.notes if "/app/gone" in note and "ParameterNotFound" in note]
    assert not [form for form in forms(SECRET) if form in _shown(timeline)]  # the other one still is


def test_a_body_cut_by_the_journal_ends_with_no_prefix_of_a_secret() -> None:
    masker = masking.resolved("t", ["/app/key"], lambda name: SECRET)
    entry = {"method": "GET", "rawPath": "/x", "headers": {}, "body": "", "response": {
        "status": 200, "headers": {}, "body": "x" * 10 + SECRET[:7], "bodyTruncated": True}}
    [exchange] = build(DESCRIBED, FAILING_HISTORY, "t" * 32, [], [entry], masker).exchanges or []
    assert exchange.response_body == "x" * 10 + MASK
    long_entry = {**entry, "response": {**entry["response"], "bodyTruncated": False,
                                        "body": "y" * (BODY_LIMIT - 3) + SECRET}}
    [cut] = build(DESCRIBED, FAILING_HISTORY, "t" * 32, [], [long_entry], masker).exchanges or []
    assert SECRET[:3] not in cut.response_body and "more characters" in cut.response_body


def test_the_mask_has_one_home_the_lambda() -> None:
    import generic_api_call.secrets as lambda_secrets

    assert masking.MASK is lambda_secrets.MASK
    assert "[REDACTED]" not in Path(masking.__file__).read_text(encoding="utf-8")
