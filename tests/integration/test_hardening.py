"""Untrusted templates and params, hostile upstreams, limits and secrets, end to end.

One test per case, on every backend. The README's security table lists each case with the
branch it ends in, its `Error`, and the test here that proves it.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.support import (
    CAUGHT_PATH,
    HTTP_FAILURE_PATH,
    INVALID_RESULT_PATH,
    OK_PATH,
    error_message,
    unique,
)
from tests.support import lambda_attempts as attempts

pytestmark = pytest.mark.integration

# The template deadline of tests that wait one out (three times, with the retries), where its
# length is not the point: short, yet long enough for a loaded machine to send the request.
SHORT_TIMEOUT = 0.5
METADATA_URLS = {
    "ipv4": "http://169.254.169.254/latest/meta-data/",
    "ipv6": "http://[fd00:ec2::254]/latest/meta-data/",
    "ipv4_mapped_ipv6": "http://[::ffff:169.254.169.254]/latest/meta-data/",
}


def caught(result, error: str) -> None:
    assert result.status == "FAILED"
    assert result.states == CAUGHT_PATH
    assert result.error == error, result.cause
    # Catch keeps the execution input and adds the error beside it.
    failed_input = json.loads(result.events("FailStateEntered")[-1]["stateEnteredEventDetails"]["input"])
    assert {"templateName", "method", "params", "template", "failure"} <= set(failed_input)


@pytest.fixture
def stubbed(make_template, make_stub):
    """stubbed(response | responses=[...], method="GET", **template_fields) -> (template, path):
    a template of the test's own pointing at a stub of its own (both removed afterwards)."""

    def make(response=None, responses=None, method="GET", **template_fields) -> tuple[str, str]:
        path = f"/{unique('h')}"
        name = make_template(method, url=f"{{{{ base_url }}}}{path}", **template_fields)
        stub = {"request": {"method": method, "path": path}}
        stub.update({"responses": responses} if responses else {"response": response})
        make_stub(stub)
        return name, path

    return make


# --- bad templates and params -----------------------------------------------------------------


def test_item_missing_url_is_an_invalid_template(testbed, make_raw_template):
    name = make_raw_template(headers={"Accept": "text/plain"})
    result = testbed.run(name, "GET")
    caught(result, "InvalidTemplate")
    assert "missing required field 'url'" in error_message(result)
    assert attempts(result) == 1


@pytest.mark.parametrize("url", [
    "{{ base_url }}/x/{{ params.__class__ }}",
    "{{ base_url }}/x/{{ ''.__class__.__mro__[1].__subclasses__() }}",
])
def test_hostile_template_introspection_is_refused(testbed, make_raw_template, url):
    name = make_raw_template(url=url)
    result = testbed.run(name, "GET", {"x": "1"})
    caught(result, "RenderError")
    assert attempts(result) == 1


def test_hostile_template_attr_filter_is_refused(testbed, make_raw_template):
    name = make_raw_template(url="{{ base_url }}/x/{{ (params|attr('__class__')) }}")
    result = testbed.run(name, "GET", {})
    caught(result, "InvalidTemplate")  # `attr` is not an allowed filter: rejected before rendering


def test_output_buffered_in_a_block_is_bounded(testbed, make_raw_template):
    # issue 8, defect 3: a {% set %} block grew memory by 458 MB before its join was measured
    body = "{% set s = 'x' * 60000 %}{% set y %}{% for i in range(99999) %}{{ s ~ i }}{% endfor %}{% endset %}"
    name = make_raw_template("POST", url="{{ base_url }}/never", body=body)
    result = testbed.run(name, "POST", {})
    caught(result, "RenderError")
    assert "produces over" in error_message(result)


def test_huge_render_fails_fast(testbed, make_raw_template):
    body = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    name = make_raw_template("POST", url="{{ base_url }}/never", body=body)
    result = testbed.run(name, "POST", {})
    caught(result, "RenderError")
    assert "exceeds" in error_message(result)


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("value", ["../admin", "a/b"])
def test_path_param_stays_one_segment(testbed, make_template, make_stub, value):
    prefix = f"/{unique('seg')}"
    name = make_template(url=f"{{{{ base_url }}}}{prefix}/{{{{ params.id }}}}")
    make_stub({"request": {"method": "GET", "pathPattern": f"^{prefix}/[^/]+$"},
                      "response": {"status": 200, "body": {"ok": True}}})
    result = testbed.run(name, "GET", {"id": value})
    assert result.status == "SUCCEEDED", result.cause
    [received] = testbed.received(prefix)
    assert received["rawPath"] == f"{prefix}/{value.replace('/', '%2F')}"


@pytest.mark.needs_mockapi
def test_dot_dot_path_param_is_refused(testbed, make_template):
    prefix = f"/{unique('dots')}"
    name = make_template(url=f"{{{{ base_url }}}}{prefix}/{{{{ params.id }}}}/x")
    result = testbed.run(name, "GET", {"id": ".."})
    caught(result, "RenderError")
    assert testbed.received(prefix) == []


@pytest.mark.needs_mockapi
def test_query_param_cannot_add_parameters(testbed, stubbed):
    name, path = stubbed({"status": 200, "echo": True}, query={"q": "{{ params.q }}"})
    result = testbed.run(name, "GET", {"q": "x&admin=1"})
    assert result.status == "SUCCEEDED", result.cause
    [received] = testbed.received(path)
    assert received["query"] == {"q": ["x&admin=1"]}


@pytest.mark.needs_mockapi
def test_body_param_cannot_add_keys(testbed, stubbed):
    name, path = stubbed({"status": 200, "echo": True}, method="POST",
                         body={"name": "{{ params.name }}", "role": "user"})
    result = testbed.run(name, "POST", {"name": 'a","role":"admin'})
    assert result.status == "SUCCEEDED", result.cause
    [received] = testbed.received(path)
    assert received["json"] == {"name": 'a","role":"admin', "role": "user"}


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("value", ["a\r\nX-Admin: 1", "a\nb"])
def test_crlf_in_header_is_refused(testbed, stubbed, value):
    name, path = stubbed({"status": 200}, headers={"X-Note": "{{ params.note }}"})
    result = testbed.run(name, "GET", {"note": value})
    caught(result, "RenderError")
    assert "CR or LF" in error_message(result)
    assert testbed.received(path) == []


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("value", ["@evil.example", "//evil.example/x", ":1@evil.example"])
def test_param_cannot_change_the_host_from_the_path(testbed, make_template, make_stub, value):
    prefix = f"/{unique('host')}"
    name = make_template(url=f"{{{{ base_url }}}}{prefix}/{{{{ params.id }}}}")
    make_stub({"request": {"method": "GET", "pathPattern": f"^{prefix}/.*"}, "response": {"status": 200}})
    result = testbed.run(name, "GET", {"id": value})
    assert result.status == "SUCCEEDED", result.cause
    assert len(testbed.received(prefix)) == 1  # it reached the mock API, the template's host


@pytest.mark.parametrize("url", [
    "http://{{ params.host }}/x",
    # issue 8, defect 7: params picking between hosts the template names
    "{% if params.ids|length > 1 %}{{ base_url }}{% else %}http://169.254.169.254{% endif %}/x",
])
def test_param_in_the_host_cannot_change_it(testbed, make_raw_template, url):
    name = make_raw_template(url=url)
    result = testbed.run(name, "GET", {"host": "evil.example", "ids": [1]})
    caught(result, "InvalidTemplate")  # the origin must be literal text or {{ base_url }}
    assert "params may not choose the destination" in error_message(result)
    assert attempts(result) == 1


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x"])
def test_non_http_schemes_are_refused(testbed, make_raw_template, url):
    name = make_raw_template(url=url)
    result = testbed.run(name, "GET", {})
    caught(result, "InvalidTemplate")
    assert "http(s)" in error_message(result)


@pytest.mark.parametrize("form", sorted(METADATA_URLS))
def test_metadata_address_is_refused_even_when_allow_listed(testbed, make_raw_template, form):
    # The test stacks allow-list these addresses (TESTBED_ALLOWED_HOSTS_EXTRA): refused anyway.
    name = make_raw_template(url=METADATA_URLS[form])
    result = testbed.run(name, "GET", {})
    caught(result, "DestinationRefused")
    assert attempts(result) == 1


def test_host_outside_the_allow_list_is_refused(testbed, make_raw_template):
    name = make_raw_template(url="http://api.not-allowed.example/x")
    result = testbed.run(name, "GET", {})
    caught(result, "DestinationRefused")


@pytest.mark.needs_mockapi
def test_redirect_to_a_refused_address_is_not_followed(testbed, stubbed):
    name, path = stubbed({"status": 302, "headers": {"Location": METADATA_URLS["ipv4"]}},
                         followRedirects=True)
    result = testbed.run(name, "GET", {})
    caught(result, "DestinationRefused")
    assert len(testbed.received(path)) == 1


@pytest.mark.needs_mockapi
def test_redirect_within_the_allow_list_is_followed(testbed, stubbed, make_stub):
    target = f"/{unique('moved')}"
    make_stub({"request": {"method": "GET", "path": target}, "response": {"status": 200, "body": {"ok": 1}}})
    name, path = stubbed({"status": 302, "headers": {"Location": target}}, followRedirects=True)
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["body"] == {"ok": 1}
    assert len(testbed.received(path)) == 1 and len(testbed.received(target)) == 1


@pytest.mark.needs_mockapi
def test_302_is_a_failure_when_redirects_are_not_followed(testbed, stubbed):
    name, path = stubbed({"status": 302, "headers": {"Location": "/elsewhere"}})
    result = testbed.run(name, "GET", {})
    assert result.status == "FAILED" and result.states == HTTP_FAILURE_PATH
    assert result.error == "UpstreamHttpError" and "HTTP 302" in result.cause
    assert len(testbed.received(path)) == 1 and testbed.received("/elsewhere") == []


# --- upstream behaviour -----------------------------------------------------------------------


@pytest.mark.needs_mockapi
def test_200_json(testbed, stubbed):
    name, _ = stubbed({"status": 200, "body": {"id": 7, "tags": ["a"]}})
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED" and result.states == OK_PATH
    assert result.output["body"] == {"id": 7, "tags": ["a"]}
    assert result.output["contentType"].startswith("application/json")


@pytest.mark.needs_mockapi
def test_html_200_is_returned_as_text(testbed, stubbed):
    html = "<html><body><h1>héllo</h1></body></html>"
    name, _ = stubbed({"status": 200, "headers": {"Content-Type": "text/html; charset=utf-8"}, "body": html})
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED"
    assert result.output["body"] == html and result.output["contentType"].startswith("text/html")


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("code", [400, 404])
def test_4xx_fails_without_retry(testbed, stubbed, code):
    name, path = stubbed({"status": code})
    result = testbed.run(name, "GET", {})
    assert result.status == "FAILED" and result.states == HTTP_FAILURE_PATH
    assert result.error == "UpstreamHttpError" and f"HTTP {code}" in result.cause
    assert attempts(result) == 1 and len(testbed.received(path)) == 1


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_503_with_retry_after_then_success(testbed, stubbed):
    name, path = stubbed(responses=[
        {"status": 503, "headers": {"Retry-After": "1"}},
        {"status": 200, "body": {"ok": True}},
    ])
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED", result.cause
    first, second = testbed.received(path)
    gap = datetime.fromisoformat(second["receivedAt"]) - datetime.fromisoformat(first["receivedAt"])
    assert gap.total_seconds() >= 0.9  # Retry-After honoured (the state machine's backoff is 0 in tests)


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_post_503_without_idempotency_is_not_retried(testbed, stubbed):
    name, path = stubbed({"status": 503}, method="POST", body={"a": 1})
    result = testbed.run(name, "POST", {})
    assert result.status == "FAILED" and result.states == HTTP_FAILURE_PATH
    assert "HTTP 503" in result.cause
    assert len(testbed.received(path)) == 1


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_post_503_marked_idempotent_is_retried(testbed, stubbed):
    name, path = stubbed(responses=[{"status": 503}, {"status": 201, "body": {"id": 1}}],
                         method="POST", body={"a": 1}, idempotent=True)
    result = testbed.run(name, "POST", {})
    assert result.status == "SUCCEEDED", result.cause
    assert len(testbed.received(path)) == 2


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_429_with_retry_after_beyond_the_deadline_is_not_retried(testbed, stubbed):
    name, path = stubbed({"status": 429, "headers": {"Retry-After": "120"}}, timeoutSeconds=2)
    result = testbed.run(name, "GET", {})
    caught(result, "UpstreamThrottled")
    assert len(testbed.received(path)) == 1


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_upstream_that_never_answers_times_out(testbed, stubbed):
    name, path = stubbed({"status": 200, "fault": "no_response"}, timeoutSeconds=SHORT_TIMEOUT)
    result = testbed.run(name, "GET", {})
    caught(result, "UpstreamTimeout")
    assert attempts(result) == 3 and len(testbed.received(path)) == 3


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_slow_drip_hits_the_total_deadline(testbed, stubbed):
    # Each chunk comes well within the read timeout; only the total deadline can stop it.
    name, _ = stubbed({"status": 200, "body": "x" * 200, "fault": "slow_drip",
                       "chunkBytes": 1, "dripIntervalMs": 100}, timeoutSeconds=SHORT_TIMEOUT)
    result = testbed.run(name, "GET", {})
    caught(result, "UpstreamTimeout")


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_connection_reset_is_a_connection_error(testbed, stubbed):
    name, path = stubbed({"status": 200, "fault": "connection_reset"})
    result = testbed.run(name, "GET", {})
    caught(result, "UpstreamConnectionError")
    assert len(testbed.received(path)) == 3


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
@pytest.mark.parametrize("fault", ["oversized", "gzip_bomb"])
def test_50_mb_body_is_truncated(testbed, stubbed, fault):
    name, _ = stubbed({"status": 200, "fault": fault, "sizeBytes": 50 * 1024 * 1024,
                                "headers": {"Content-Type": "text/plain"}}, timeoutSeconds=20)
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["truncated"] is True
    assert len(result.output["body"]) <= 128 * 1024


@pytest.mark.needs_mockapi
def test_result_over_the_size_cap_is_cut_to_fit(testbed, stubbed):
    # 120 KiB of quotes: under the body cap, but JSON escaping doubles it past the result cap.
    name, _ = stubbed({"status": 200, "headers": {"Content-Type": "text/plain"}, "body": '"' * 120 * 1024})
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["truncated"] is True
    assert len(json.dumps(result.output)) < 200 * 1024


@pytest.mark.needs_mockapi
@pytest.mark.needs_faults
def test_invalid_json_body_is_returned_as_text(testbed, stubbed):
    name, _ = stubbed({"status": 200, "fault": "invalid_json"})
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED"
    assert isinstance(result.output["body"], str)


# --- Step Functions limits and Lambda service errors (mocked task results) -------------------

# A format, not AWS behaviour (AWS has no mock configuration): the mocked `Return` of a task whose
# Resource is a function ARN is, to LocalStack, the Invoke API's answer (it reads `Payload`: the
# shape AWS's Step Functions Local documents); to MiniStack, the function's result.
MOCKED_LAMBDA_RESULT = ("LocalStack reads a mocked Lambda `Return` as the Invoke answer ({StatusCode, Payload}); "
                        "these mocked results are the function's result (MiniStack's reading): KeyError 'Payload'")


@pytest.mark.needs_faults
@pytest.mark.not_on("localstack", reason=MOCKED_LAMBDA_RESULT)
@pytest.mark.parametrize("case", ["ResultWithoutStatusCode", "ResultWithTextStatusCode"])
def test_result_without_numeric_status_code_fails_through_the_default(testbed, case):
    result = testbed.run("get_user", "GET", {"user_id": "1"}, test_case=case)
    assert result.status == "FAILED" and result.states == INVALID_RESULT_PATH
    assert result.error == "InvalidLambdaResult"


@pytest.mark.needs_faults
@pytest.mark.not_on("localstack", reason=MOCKED_LAMBDA_RESULT)
def test_1xx_result_fails_through_the_choice_state(testbed):
    result = testbed.run("get_user", "GET", {"user_id": "1"}, test_case="Informational1xxResult")
    assert result.status == "FAILED" and result.states == HTTP_FAILURE_PATH
    assert "HTTP 103" in result.cause


@pytest.mark.needs_faults
@pytest.mark.not_on("localstack", reason=(
    "a mocked Throw of a Lambda-ARN task: LocalStack records no LambdaFunctionFailed (AWS records one per failed "
    "attempt of a Lambda-ARN task, recorded case test_task_lambda::test_raise_exception)"))
def test_lambda_service_errors_are_retried_then_caught(testbed):
    result = testbed.run("get_user", "GET", {"user_id": "1"}, test_case="LambdaServiceErrors")
    caught(result, "Lambda.ServiceException")
    assert len(result.events("LambdaFunctionFailed")) == 4  # 1 + 3 retries


# --- unusual params and answers (issue 8, defects 5 and 6) --------------------------------------


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("value", ["5 €", "\u2028x", "\x85x"])
def test_an_unsendable_header_value_is_a_render_error_not_retried(testbed, stubbed, value):
    name, path = stubbed({"status": 200}, headers={"X-V": "{{ params.v }}"})
    result = testbed.run(name, "GET", {"v": value})
    caught(result, "RenderError")
    assert error_message(result).startswith("headers.X-V: ") and attempts(result) == 1
    assert testbed.received(path) == []


@pytest.mark.needs_mockapi
@pytest.mark.parametrize("charset", ["base64", "idna", "no-such-charset"])
def test_an_odd_charset_is_decoded_as_utf8(testbed, stubbed, charset):
    name, _ = stubbed({"status": 200, "headers": {"Content-Type": f"text/plain; charset={charset}"},
                                "body": "hello"})
    result = testbed.run(name, "GET", {})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["body"] == "hello"


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.needs_mockapi
def test_the_cause_never_holds_a_prefix_of_a_secret(testbed, make_template, make_stub, make_secret):
    # issue 8, defect 1: the message cap cut before masking, so a param padded to put the cut
    # inside the secret returned its prefix in the Cause. The timeout's message names the URL.
    secret = f"Zq9XkW7pLm3VtR8y{unique('')[-8:]}"
    secret_name = make_secret(secret)
    segment = unique("slow")
    make_stub({"request": {"method": "GET", "pathPattern": f"^/{segment}/.*$"},
                      "response": {"status": 200, "delayMs": 3000}})
    before_secret = len(f"GET {testbed.stack.endpoints.mockapi_for_lambda}/{segment}/") + 1
    pad = "p" * (985 - 8 - before_secret)  # the old cap (1000 - 15) fell 8 characters into the secret
    url = f"{{{{ base_url }}}}/{segment}/{{{{ params.pad }}}}/{{{{ secret('{secret_name}') }}}}"
    name = make_template(url=url, secrets=[secret_name], timeoutSeconds=SHORT_TIMEOUT)
    result = testbed.run(name, "GET", {"pad": pad})
    caught(result, "UpstreamTimeout")
    for length in range(4, len(secret) + 1):
        assert secret[:length] not in result.cause, f"{length} characters of the secret are in the Cause"
    assert len(error_message(result)) <= 1000


@pytest.mark.needs_mockapi
def test_secret_not_allow_listed_is_refused(testbed, stubbed, make_secret):
    secret_name = make_secret("never-sent-1234")
    name, path = stubbed({"status": 200}, headers={"X-Key": f"{{{{ secret('{secret_name}') }}}}"})
    result = testbed.run(name, "GET", {})
    caught(result, "SecretNotAllowed")
    assert secret_name in error_message(result) and "never-sent-1234" not in result.cause
    assert testbed.received(path) == []


@pytest.mark.needs_mockapi
@pytest.mark.emulator_only
def test_canary_secret_never_leaks(testbed, stubbed, make_secret):
    canary = f"canary-{unique('s')}-Zq7"
    secret_name = make_secret(canary)
    reference = f"{{{{ secret('{secret_name}') }}}}"
    ok_name, ok_path = stubbed({"status": 200, "echo": True},
                               headers={"Authorization": f"Bearer {reference}"}, secrets=[secret_name])
    bad_name, bad_path = stubbed({"status": 500, "echo": True},
                                 query={"token": reference}, secrets=[secret_name])
    timeout_name, _ = stubbed({"status": 200, "fault": "no_response"},
                              headers={"X-Token": reference}, secrets=[secret_name], timeoutSeconds=SHORT_TIMEOUT)

    results = [testbed.run(ok_name, "GET", {}), testbed.run(bad_name, "GET", {}), testbed.run(timeout_name, "GET", {})]

    assert [r.status for r in results] == ["SUCCEEDED", "FAILED", "FAILED"], [(r.error, r.cause) for r in results]
    # The canary did reach the API (so this test can fail) ...
    assert testbed.received(ok_path)[0]["headers"]["Authorization"] == f"Bearer {canary}"
    assert testbed.received(bad_path)[0]["query"] == {"token": [canary]}
    # ... and is nowhere on our side.
    places = {
        "outputs, errors and causes": json.dumps([[r.output, r.error, r.cause] for r in results]),
        "execution history": json.dumps([r.history for r in results], default=str),
        "DynamoDB": testbed.table_dump(),
        "Lambda logs": testbed.lambda_logs(),
        "emulator logs": testbed.stack.emulator_logs(),
    }
    for where, text in places.items():
        assert canary not in text, f"the canary secret leaked into {where}"
    assert "[REDACTED]" in json.dumps(results[0].output)  # the echoed header was masked
