"""The handler's contract: event shape in, result or a named exception out."""

import json

import pytest

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.handler import lambda_handler
from generic_api_call.limits import MAX_MESSAGE_CHARS


class Context:
    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.mark.parametrize("event", [{}, [], {"params": {}}])
def test_event_without_template(event):
    with pytest.raises(InvalidTemplate, match="'template'"):
        lambda_handler(event, Context())


def test_item_missing_url():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}}, "params": {}}
    with pytest.raises(InvalidTemplate, match="missing required field 'url'"):
        lambda_handler(event, Context())


def test_params_must_be_a_map():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}, "url": {"S": "http://x"}}, "params": "a"}
    with pytest.raises(RenderError, match="params must be a map"):
        lambda_handler(event, Context())


def test_error_messages_are_capped_for_the_cause():
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}, "url": {"S": "http://x/"}, "z" * 50_000: {"S": ""}}}
    with pytest.raises(InvalidTemplate) as caught:
        lambda_handler(event, Context())
    assert len(str(caught.value)) <= MAX_MESSAGE_CHARS


# --- the dry run's entry point and trace correlation (issue 9's contracts) ----------------------

def prepared(execution_id=None, **fields):
    from generic_api_call.destinations import AllowList
    from generic_api_call.handler import prepare_request
    from generic_api_call.template import from_plain

    template = from_plain({"PK": "t", "SK": "POST", "url": "{{ base_url }}/x/{{ params.id }}",
                           "secrets": ["ssm:/k"], **fields})
    return prepare_request(template, {"id": "7"}, base_url="http://127.0.0.1:9", resolve_secret=lambda _n: "s3cr3t-v",
                           allowed_hosts=AllowList.parse("127.0.0.1:9"), execution_id=execution_id)


def test_prepare_request_returns_what_would_be_sent_with_secrets_masked():
    request = prepared(headers={"Authorization": "Bearer {{ secret('ssm:/k') }}"}, body={"a": "{{ params.id }}"})
    assert (request.method, request.url, request.body) == ("POST", "http://127.0.0.1:9/x/7", '{"a": "7"}')
    assert request.headers["Authorization"] == "Bearer s3cr3t-v"
    masked = request.masked()
    assert masked["headers"]["Authorization"] == "Bearer [REDACTED]" and masked["address"] == "127.0.0.1"


def test_traceparent_is_derived_from_the_execution_id():
    from generic_api_call.trace import trace_id_for

    arn = "arn:aws:states:us-east-1:000000000000:execution:ApiCallStateMachine:run-1"
    header = prepared(execution_id=arn).headers["traceparent"]
    version, trace_id, parent_id, flags = header.split("-")
    assert (version, flags) == ("00", "01") and trace_id == trace_id_for(arn) and len(trace_id) == 32
    assert len(parent_id) == 16 and int(parent_id, 16) != 0
    assert trace_id_for(arn) == __import__("hashlib").sha256(arn.encode()).hexdigest()[:32]


def test_traceparent_can_be_turned_off():
    assert "traceparent" not in prepared(execution_id="arn:x", propagateTrace=False).headers
    assert "traceparent" not in prepared().headers


# Issue 20, defect 5: a template set its own traceparent from a param, so its request and log
# line showed up in another execution's timeline. The Lambda owns the trace headers.
FOREIGN = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"


@pytest.mark.parametrize("name", ["traceparent", "TraceParent", "TRACESTATE", "tracestate"])
def test_a_template_may_not_set_the_trace_headers(name):
    with pytest.raises(InvalidTemplate, match=rf"field 'headers' has the name '{name}': the Lambda sets traceparent"):
        prepared(execution_id="arn:x", headers={name: "{{ params.id }}"})


def test_the_sent_trace_headers_are_always_the_lambdas():
    from dataclasses import replace

    from generic_api_call.destinations import AllowList
    from generic_api_call.handler import prepare_request
    from generic_api_call.template import from_plain
    from generic_api_call.trace import trace_id_for

    # A Template built in code skips from_plain's refusal: the Lambda's own header still wins.
    template = replace(from_plain({"PK": "t", "SK": "GET", "url": "{{ base_url }}/x"}),
                       headers={"TraceParent": FOREIGN, "tracestate": "k=v", "X-A": "1"})
    for execution_id, propagate in (("arn:mine", True), ("arn:mine", False), (None, True)):
        sent = prepare_request(replace(template, propagate_trace=propagate), {}, base_url="http://127.0.0.1:9",
                               allowed_hosts=AllowList.parse("127.0.0.1:9"), execution_id=execution_id).headers
        trace_headers = {name: value for name, value in sent.items() if name.lower() in ("traceparent", "tracestate")}
        expected = trace_id_for("arn:mine") if execution_id and propagate else None
        assert [value.split("-")[1] for value in trace_headers.values()] == ([expected] if expected else [])
        assert sent["X-A"] == "1"


def test_propagate_trace_must_be_a_bool():
    with pytest.raises(InvalidTemplate, match="propagateTrace"):
        prepared(propagateTrace="no")


def test_one_log_line_per_invocation_with_names_and_numbers_only(caplog, monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "127.0.0.1:9")
    monkeypatch.setenv("API_BASE_URL", "http://127.0.0.1:9")
    event = {"template": {"PK": {"S": "t"}, "SK": {"S": "GET"}, "url": {"S": "{{ base_url }}/p/{{ params.id }}"}},
             "params": {"id": "42"}, "executionId": "arn:aws:states:x:1:execution:m:e", "unknownKey": [1]}
    with caplog.at_level("INFO", logger="generic_api_call"), pytest.raises(Exception) as caught:
        lambda_handler(event, Context())  # port 9 (discard) is closed here: a connection error
    record = json.loads(caplog.records[-1].getMessage())
    assert record["executionId"] == event["executionId"] and record["traceId"] == record["traceparent"].split("-")[1]
    assert record["template"] == "t" and record["method"] == "GET" and record["url"] == "http://127.0.0.1:9/p/42"
    assert record["error"] == type(caught.value).__name__ and isinstance(record["elapsedMs"], int)


def test_a_dry_run_can_skip_dns_but_not_the_static_check():
    from generic_api_call.destinations import AllowList
    from generic_api_call.errors import DestinationRefused
    from generic_api_call.handler import prepare_request
    from generic_api_call.template import from_plain

    template = from_plain({"PK": "t", "SK": "GET", "url": "{{ base_url }}/x"})
    dry = prepare_request(template, {}, base_url="http://mockapi.invalid:8080",
                          allowed_hosts=AllowList.parse("mockapi.invalid:8080"), resolve=False)
    assert dry.target is None and dry.masked()["url"] == "http://mockapi.invalid:8080/x"
    with pytest.raises(DestinationRefused, match="not in the allow-list"):
        prepare_request(template, {}, base_url="http://other.invalid", allowed_hosts=AllowList.parse("mockapi.invalid"),
                        resolve=False)
