"""End to end: fetch the template, render it, call the mock API, branch on the status.

Every test owns its data: unique template names, unique mock API paths, and reads the
journal only under its own path.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support import unique

pytestmark = pytest.mark.integration

OK_PATH = ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState", "Success"]
HTTP_FAILURE_PATH = [
    "FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState",
    "DescribeHttpFailure", "HandleFailure",
]
CAUGHT_PATH = ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "HandleFailure"]


def lambda_attempts(result) -> int:
    return len(result.events("LambdaFunctionScheduled")) or len(result.events("TaskScheduled")) - 1


def test_get_with_path_and_query_params_succeeds(testbed):
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


def test_post_json_body_with_a_list_is_created(testbed):
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


def test_header_authenticated_call(testbed):
    allowed = testbed.run("get_profile", "GET", {"token": "testbed-token"})
    assert allowed.status == "SUCCEEDED", allowed.cause
    assert allowed.output["body"] == {"user": "alice"}

    refused = testbed.run("get_profile", "GET", {"token": "wrong"})
    assert refused.status == "FAILED"
    assert refused.states == HTTP_FAILURE_PATH
    assert refused.error == "UpstreamHttpError" and "HTTP 401" in refused.cause


@pytest.mark.parametrize("code", [200, 201])
def test_2xx_succeeds(testbed, code):
    result = testbed.run("get_status", "GET", {"code": code})
    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["statusCode"] == code


@pytest.mark.parametrize("code", [404, 500])
def test_4xx_and_5xx_fail_without_retry(testbed, code):
    path = f"/{unique('err')}"
    name = testbed.add_template(url=f"{{{{ base_url }}}}{path}")
    testbed.add_stub({"request": {"method": "GET", "path": path}, "response": {"status": code, "body": {"e": 1}}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == HTTP_FAILURE_PATH
    assert result.error == "UpstreamHttpError"
    assert result.cause == f"Template {name} (GET) answered HTTP {code}"
    assert len(testbed.received(path)) == 1


def test_fail_then_succeed_is_retried_to_success(testbed):
    path = f"/{unique('flaky')}"
    name = testbed.add_template(url=f"{{{{ base_url }}}}{path}")
    testbed.add_stub({"request": {"method": "GET", "path": path}, "responses": [
        {"status": 503, "body": "busy"}, {"status": 503, "body": "busy"}, {"status": 200, "body": {"ok": True}},
    ]})

    result = testbed.run(name, "GET")

    assert result.status == "SUCCEEDED", result.cause
    assert result.states == OK_PATH
    assert result.output["body"] == {"ok": True}
    assert len(testbed.received(path)) == 3
    assert lambda_attempts(result) == 3


def test_retries_used_up_end_in_handle_failure_with_the_error(testbed):
    path = f"/{unique('down')}"
    name = testbed.add_template(url=f"{{{{ base_url }}}}{path}")
    testbed.add_stub({"request": {"method": "GET", "path": path}, "response": {"status": 503}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "UpstreamUnavailable"
    assert "HTTP 503" in json.loads(result.cause)["errorMessage"]
    assert len(testbed.received(path)) == 3  # first try + MaxAttempts 2


def test_template_not_found(testbed):
    name = unique("missing")
    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == ["FetchTemplateFromDynamoDB", "CheckTemplateExists", "TemplateNotFound"]
    assert result.error == "TemplateNotFound"
    assert result.cause == f"No template with PK={name} and SK=GET in API_Template_Table"


def test_missing_param_is_a_render_error_and_calls_nothing(testbed):
    path = f"/{unique('render')}"
    name = testbed.add_template(url=f"{{{{ base_url }}}}{path}/{{{{ params.user_id }}}}")

    result = testbed.run(name, "GET", {})

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "RenderError"  # the exception class name, as on AWS
    assert "missing param 'user_id'" in json.loads(result.cause)["errorMessage"]
    assert lambda_attempts(result) == 1  # render errors are not retried
    assert testbed.received(path) == []


def test_api_timeout_is_retried_then_fails(testbed):
    path = f"/{unique('slow')}"
    name = testbed.add_template(url=f"{{{{ base_url }}}}{path}", timeoutSeconds=1)
    testbed.add_stub({"request": {"method": "GET", "path": path}, "response": {"status": 200, "delayMs": 4000}})

    result = testbed.run(name, "GET")

    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == "UpstreamTimeout"
    assert lambda_attempts(result) == 3
    assert len(testbed.received(path)) == 3


def test_hostile_params_stay_in_their_slots(testbed):
    prefix = f"/{unique('hostile')}"
    name = testbed.add_template(
        "POST",
        url=f"{{{{ base_url }}}}{prefix}/{{{{ params.id }}}}",
        query={"q": "{{ params.q }}"},
        headers={"Content-Type": "application/json", "X-Note": "{{ params.note }}"},
        body={"text": "{{ params.text }}", "list": "{{ params.list }}"},
    )
    testbed.add_stub({"request": {"method": "POST", "pathPattern": f"^{prefix}/.*"},
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
