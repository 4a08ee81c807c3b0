"""JSONPath and missing paths as on AWS (patches jsonpath_eval, jsonpath_engine, jsonpath_required,
context_object, terminal_errors). Each behaviour is an AWS-recorded parity case that unpatched
MiniStack 1.5.33 got wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from testbed.emulator import patches
from testbed.emulator.patches import jsonpath_eval, terminal_errors

CTX = {"State": {"Name": "pass"}, "Execution": {"Input": {"a": 1}}}


@pytest.fixture(scope="module")
def sfn() -> Any:
    patches.apply_all()
    from ministack.services import stepfunctions

    return stepfunctions


def runtime_cause(sfn: Any, run: Any) -> str:
    with pytest.raises(sfn._ExecutionError) as raised:
        run()
    assert raised.value.error == "States.Runtime"
    return str(raised.value.cause)


@pytest.mark.parametrize("path", ["$.items[1:]", "$.items[:1]", "$.item.items[1:5].itemValue", "$.items[*]"])
def test_a_slice_or_wildcard_over_absent_data_is_an_empty_list_as_on_aws(sfn, path):
    assert sfn._resolve_path(path, {}) == []
    assert sfn._execute_pass({"Parameters": {"item.$": path}, "End": True}, {}, CTX)[0] == {"item": []}


def test_slices_filters_and_quoted_names_select_as_on_aws(sfn):
    data = {"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}], 'Test\\""Name"': "x"}
    assert sfn._resolve_path("$.users[?(@.status == 0)]", data) == [data["users"][0]]
    assert sfn._resolve_path("$.users[1:]", data) == [data["users"][1]]
    assert sfn._resolve_path("$.users[-1].year", data) == 1998
    assert sfn._resolve_path("$['Test\\\"\"Name\"']", data) == "x"  # the backslash is part of the name


def test_jayway_wording_of_a_definite_path_naming_nothing():
    with pytest.raises(jsonpath_eval.PathNotFound, match=r"^No results for path: \$\['a'\]\['b'\]$"):
        jsonpath_eval.find("$.a.b", {"a": {}})
    with pytest.raises(jsonpath_eval.PathNotFound, match=r"^Missing property in path \$\['no'\]$"):
        jsonpath_eval.find("$.no.such.path", {})
    assert jsonpath_eval.find("$.n", {"n": None}) is None  # present, even if null


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_input_or_output_path_naming_nothing_is_states_runtime_as_on_aws(sfn, field):
    cause = runtime_cause(sfn, lambda: sfn._execute_pass({field: "$.NoSuch", "End": True}, {"a": 1}, CTX))
    assert cause == ("An error occurred while executing the state 'pass'. "
                     "Invalid path '$.NoSuch' : No results for path: $['NoSuch']")


@pytest.mark.parametrize("path", ["$.no_such_jsonpath", "$$.Execution.Input.no_such_jsonpath"])
def test_a_parameters_path_naming_nothing_is_states_runtime_as_on_aws(sfn, path):
    state = {"Parameters": {"value.$": path}, "End": True}
    cause = runtime_cause(sfn, lambda: sfn._execute_pass(state, {"a": 1}, CTX))
    assert cause == (f"An error occurred while executing the state 'pass'. The JSONPath '{path}' specified for "
                     "the field 'value.$' could not be found in the input '{\"a\":1}'")


def test_a_fail_state_error_path_naming_nothing_is_states_runtime_as_on_aws(sfn):
    cause = runtime_cause(sfn, lambda: sfn._fail_state_error({"Type": "Fail", "ErrorPath": "$.ErrorX"}, {"a": 1}, CTX))
    assert "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found" in cause


@pytest.mark.parametrize("field", ["TimeoutSecondsPath", "HeartbeatSecondsPath"])
def test_a_task_seconds_path_naming_nothing_is_states_runtime_as_on_aws(sfn, field):
    state = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets.waitForTaskToken",
             field: "$.NoSuch", "Parameters": {}, "End": True}
    cause = runtime_cause(sfn, lambda: sfn._execute_task(state, {"a": 1}, {"history": []}, CTX))
    assert cause.endswith("Invalid path '$.NoSuch' : No results for path: $['NoSuch']")


def test_the_context_object_has_aws_fields(sfn):
    ctx = {"Execution": {"Id": "arn:x", "Input": {}}, "State": {"Name": "pass", "RetryCount": 0},
           "QueryLanguage": "JSONPath", "variables": {}}
    whole = sfn._resolve_ctx_path("$$", ctx)
    assert set(whole) == {"Execution", "State"}  # not the emulator's own fields
    assert whole["Execution"]["RedriveCount"] == 0 and "RoleArn" in whole["Execution"]
    assert "RetryCount" not in whole["State"]  # a Pass state has none on AWS


@pytest.mark.parametrize(("error_equals", "error", "caught"), [
    (["States.ALL"], "States.Runtime", False),
    (["States.Runtime"], "States.Runtime", False),
    (["States.ALL"], "States.DataLimitExceeded", False),
    (["States.TaskFailed"], "States.DataLimitExceeded", False),
    (["States.DataLimitExceeded"], "States.DataLimitExceeded", True),
    (["States.ALL"], "UpstreamTimeout", True),
])
def test_runtime_and_data_limit_errors_are_terminal_as_on_aws(sfn, error_equals, error, caught):
    assert terminal_errors.error_matches(error_equals, error) is caught
    assert sfn._error_matches(error_equals, error) is caught
