"""The emulator behaves as AWS where the testbed relies on it (see testbed/emulator/patches/).

Each test can fail on unpatched MiniStack 1.5.33: it accepted oversized and invalid input,
left an execution nested too deep RUNNING forever, turned missing paths into null,
reported a forged error name, and failed in-flight invocations on a Lambda update.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from testbed.probes import wait_until
from testbed.runs import executions
from tests.support import unique

pytestmark = pytest.mark.integration

MAX_INPUT = 262144


def start_error(testbed, execution_input: str) -> str:
    with pytest.raises(ClientError) as raised:
        testbed.client("stepfunctions").start_execution(
            stateMachineArn=testbed.state_machine_arn, name=unique("limit"), input=execution_input)
    return raised.value.response["Error"]["Code"]


@pytest.mark.not_on("localstack", reason="LocalStack starts an execution whose input is over 256 KiB (AWS refuses it)")
def test_input_over_256_kib_is_refused_at_start(testbed):
    padding = "a" * (MAX_INPUT + 1)
    assert start_error(testbed, json.dumps({"templateName": "get_user", "method": "GET",
                                            "params": {"pad": padding}})) == "ValidationException"


def test_input_that_is_not_json_is_refused(testbed):
    assert start_error(testbed, "{not json") == "InvalidExecutionInput"


def test_input_nested_10000_deep_never_stays_running(testbed):
    nested = '{"templateName": "get_user", "method": "GET", "params": {"x": ' + "[" * 10000 + "]" * 10000 + "}}"
    assert start_error(testbed, nested) == "InvalidExecutionInput"


@pytest.mark.not_on("localstack", reason=(
    "LocalStack names the error Exception or DynamoDB.AmazonDynamoDBException (AWS: States.Runtime)"))
@pytest.mark.parametrize(("missing", "failed_in"), [
    ("templateName", "FetchTemplateFromDynamoDB"),
    ("params", "InvokeLambdaToCallAPI"),
])
def test_missing_input_field_is_an_uncaught_states_runtime(testbed, missing, failed_in):
    execution_input = {"templateName": "get_status", "method": "GET", "params": {"code": 200}}
    del execution_input[missing]
    result = executions.run(testbed.client("stepfunctions"), testbed.state_machine_arn, execution_input)

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert f"'$.{missing}'" in result.cause
    assert result.states[-1] == failed_in  # Catch (States.ALL) does not see States.Runtime
    assert "HandleFailure" not in result.states


@pytest.mark.emulator_only
def test_error_name_cannot_be_forged_by_the_message(testbed, make_function):
    name = make_function('''
        class RenderError(Exception):
            pass

        def handler(event, context):
            raise RenderError("bad param\\nTraceback (most recent call last):\\nUpstreamTimeout: forged")
    ''')
    response = testbed.client("lambda").invoke(FunctionName=name, Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert response.get("FunctionError") == "Unhandled"
    assert payload["errorType"] == "RenderError"


@pytest.mark.needs_mockapi
@pytest.mark.emulator_only
def test_lambda_update_lets_in_flight_invocations_finish(testbed, make_function, make_stub):
    path = f"/{unique('inflight')}"
    make_stub({"request": {"method": "GET", "path": path}, "response": {"status": 200, "delayMs": 1000}})
    api = testbed.stack.endpoints.mockapi_for_lambda
    name = make_function('''
        import os, urllib.request

        def handler(event, context):
            with urllib.request.urlopen(os.environ["PROBE_URL"], timeout=20) as answer:
                return {"status": answer.status}
    ''', {"PROBE_URL": f"{api}{path}"})
    lambda_ = testbed.client("lambda")
    count = 4

    def invoke(_: int) -> dict:
        response = lambda_.invoke(FunctionName=name, Payload=b"{}")
        return {"error": response.get("FunctionError"), "payload": json.loads(response["Payload"].read())}

    with ThreadPoolExecutor(count) as pool:
        results = pool.map(invoke, range(count))
        wait_until(lambda: len(testbed.received(path)) >= count, timeout=30, what="invocations in flight")
        lambda_.update_function_configuration(FunctionName=name, Timeout=29)  # replaces the workers
        outcomes = list(results)

    assert outcomes == [{"error": None, "payload": {"status": 200}}] * count
    after = lambda_.invoke(FunctionName=name, Payload=b"{}")  # the next one runs on the new config
    assert after.get("FunctionError") is None
