"""End to end: fetch the template, render it, call the mock API, branch on the status.

Every test owns its data: templates and stubs come from the factory fixtures (unique names,
deleted at teardown), mock API paths are unique, and the journal is read under them only.
The main cases also compare the whole execution (events, states, output or error, the HTTP
exchange) with test_workflow.snapshot.json: `make snapshots` re-records it (docs/testing.md).
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.snapshots import match_execution
from tests.support import CAUGHT_PATH, HTTP_FAILURE_PATH, OK_PATH, error_message, lambda_attempts, unique

pytestmark = pytest.mark.integration


@pytest.mark.needs_mockapi
def test_get_with_path_and_query_params_succeeds(testbed, snapshot):
    user_id = unique("user")
    result = testbed.run("get_user", "GET", {"user_id": user_id, "fields": "name,email"})

    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["statusCode"] == 200
    assert set(result.output) >= {"statusCode", "headers", "body", "elapsedMs"}
    [received] = testbed.received(f"/users/{user_id}")
    assert received["method"] == "GET"
    assert received["query"] == {"fields": ["name,email"], "lang": ["en"]}
    assert received["headers"]["Accept"] == "application/json"
    assert result.output["body"]["path"] == f"/users/{user_id}"  # the echo stub returns the request
    match_execution(snapshot, testbed, result)


@pytest.mark.needs_mockapi
def test_post_json_body_with_a_list_is_created(testbed, snapshot):
    customer = unique("cust")
    items = [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}]
    result = testbed.run("create_order", "POST", {"customer_id": customer, "items": items, "order_ref": "r-1"})

    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["statusCode"] == 201
    [received] = [r for r in testbed.received("/orders") if (r["json"] or {}).get("customerId") == customer]
    assert received["json"] == {
        "customerId": customer, "items": items, "note": f"Order r-1 for {customer}", "source": "testbed",
    }
    assert received["headers"]["Idempotency-Key"] == "r-1"
    assert received["headers"]["Content-Type"] == "application/json"
    match_execution(snapshot, testbed, result)


@pytest.mark.needs_mockapi
def test_header_authenticated_call(testbed):
    allowed = testbed.run("get_profile", "GET", {"token": "testbed-token"})
    assert allowed.status == "SUCCEEDED", allowed.cause
    assert allowed.output["body"] == {"user": "alice"}

    refused = testbed.run("get_profile", "GET", {"token": "wrong"})
    assert refused.status == "FAILED"
    assert refused.states == HTTP_FAILURE_PATH
    assert refused.error == "UpstreamHttpError" and "HTTP 401" in refused.cause


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("code", [200, 201])
def test_2xx_succeeds(testbed, code):
    result = testbed.run("get_status", "GET", {"code": code})
    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["statusCode"] == code


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("code", [404, 500])
def test_4xx_and_5xx_fail_without_retry(testbed, make_stub, make_template, snapshot, code):
    path = f"/{unique('err')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}")
    make_stub({"request": {"method": "GET", "path": path}, "response": {"status": code, "body": {"e": 1}}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == HTTP_FAILURE_PATH
    assert result.error == "UpstreamHttpError"
    assert result.cause == f"Template {name} (GET) answered HTTP {code}"
    assert len(testbed.received(path)) == 1
    match_execution(snapshot, testbed, result)


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_fail_then_succeed_is_retried_to_success(testbed, make_stub, make_template, snapshot):
    path = f"/{unique('flaky')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}")
    make_stub({"request": {"method": "GET", "path": path}, "responses": [
        {"status": 503, "body": "busy"}, {"status": 503, "body": "busy"}, {"status": 200, "body": {"ok": True}},
    ]})

    result = testbed.run(name, "GET")

    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["body"] == {"ok": True}
    assert len(testbed.received(path)) == 3
    assert lambda_attempts(result) == 3
    match_execution(snapshot, testbed, result)


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_retries_used_up_end_in_handle_failure_with_the_error(testbed, make_stub, make_template, snapshot):
    path = f"/{unique('down')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}")
    make_stub({"request": {"method": "GET", "path": path}, "response": {"status": 503}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "UpstreamUnavailable"
    assert "HTTP 503" in error_message(result)
    assert len(testbed.received(path)) == 3  # first try + MaxAttempts 2
    match_execution(snapshot, testbed, result)


def test_template_not_found(testbed, snapshot):
    name = unique("missing")
    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "TemplateNotFound"]
    assert result.error == "TemplateNotFound"
    assert result.cause == f"No template with PK={name} and SK=GET in API_Template_Table"
    match_execution(snapshot, testbed, result)  # and no request at all


@pytest.mark.needs_mockapi
def test_missing_param_is_a_render_error_and_calls_nothing(testbed, make_template):
    path = f"/{unique('render')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}/{{{{ params.user_id }}}}")

    result = testbed.run(name, "GET", {})

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "RenderError"  # the exception class name, as on AWS
    assert "missing param 'user_id'" in error_message(result)
    assert lambda_attempts(result) == 1  # render errors are not retried
    assert testbed.received(path) == []


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_api_timeout_is_retried_then_fails(testbed, make_stub, make_template):
    path = f"/{unique('slow')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}", timeoutSeconds=0.5)  # waited out 3 times
    make_stub({"request": {"method": "GET", "path": path}, "response": {"status": 200, "delayMs": 4000}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "UpstreamTimeout"
    assert lambda_attempts(result) == 3
    assert len(testbed.received(path)) == 3


@pytest.mark.needs_mockapi
def test_hostile_params_stay_in_their_slots(testbed, make_stub, make_template):
    prefix = f"/{unique('hostile')}"
    name = make_template(
        "POST",
        url=f"{{{{ base_url }}}}{prefix}/{{{{ params.id }}}}",
        query={"q": "{{ params.q }}"},
        headers={"Content-Type": "application/json", "X-Note": "{{ params.note }}"},
        body={"text": "{{ params.text }}", "list": "{{ params.list }}"},
    )
    make_stub({"request": {"method": "POST", "pathPattern": f"^{prefix}/.*"},
                      "response": {"status": 200, "echo": True}})
    hostile = 'a"b\'c/d&e=f?g#h {{ 7*7 }} {% if %} naïve ☃ 日本'
    params = {"id": hostile, "q": hostile, "note": "quote\" & {{ x }} ok", "text": hostile, "list": [hostile, 1]}

    result = testbed.run(name, "POST", params)

    assert result.status == "SUCCEEDED", result.cause
    [received] = testbed.received(prefix)
    assert received["rawPath"] == f"{prefix}/{quote(hostile, safe='')}"
    assert received["query"] == {"q": [hostile]}
    assert received["headers"]["X-Note"] == params["note"]
    assert received["json"] == {"text": hostile, "list": [hostile, 1]}
