"""Map and Parallel histories as AWS records them (patches compound_states, map_history,
parallel_history). Each expected history is an AWS-recorded parity case's, which unpatched
MiniStack 1.5.33 did not produce: it recorded only the Map's or Parallel's Entered and Exited.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.unit.sfn_inprocess import entered, run, types

PASS_END = {"Type": "Pass", "End": True}


def map_state(processor: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"Type": "Map", "MaxConcurrency": 1, "ItemProcessor": processor, "End": True, **fields}


def test_an_inline_maps_items_and_their_states_are_in_the_history_as_on_aws():
    # test_map_state_no_processor_config
    processor = {"StartAt": "HandleItem", "States": {"HandleItem": PASS_END}}
    execution = run({"StartAt": "MapState", "States": {"MapState": map_state(processor)}}, [1, 2])

    item = ["MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded"]
    assert types(execution) == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", *item, *item,
                                "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    assert execution["events"][2]["mapStateStartedEventDetails"] == {"length": 2}
    assert execution["events"][7]["mapIterationStartedEventDetails"] == {"name": "MapState", "index": 1}
    assert entered(execution) == ["MapState", "HandleItem", "HandleItem"]


def test_a_failed_item_stops_the_map_and_map_state_failed_precedes_the_catch_as_on_aws():
    # test_map_state_break_condition: with MaxConcurrency 1 the items after the failed one never start
    processor = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 3, "Next": "Break"}],
                  "Default": "Pass"},
        "Break": {"Type": "Fail", "Error": "SomeFailure"}, "Pass": PASS_END}}
    caught = map_state(processor, Catch=[{"ErrorEquals": ["SomeFailure"], "Next": "Caught"}])
    del caught["End"]
    caught["Next"] = "Caught"
    execution = run({"StartAt": "MapState", "States": {"MapState": caught, "Caught": PASS_END}}, [1, 3, 5])

    assert types(execution)[2:] == [
        "MapStateStarted", "MapIterationStarted", "ChoiceStateEntered", "ChoiceStateExited", "PassStateEntered",
        "PassStateExited", "MapIterationSucceeded", "MapIterationStarted", "ChoiceStateEntered",
        "ChoiceStateExited", "FailStateEntered", "MapIterationFailed", "MapStateFailed", "MapStateExited",
        "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_a_distributed_map_records_its_map_run_as_on_aws():
    # test_map_state_config_distributed_parameters
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                 "StartAt": "Inner", "States": {"Inner": PASS_END}}
    execution = run({"StartAt": "MapState", "States": {"MapState": map_state(processor)}}, ["Hello", "World"])

    assert types(execution) == ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted",
                                "MapRunSucceeded", "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"]
    assert execution["events"][3]["mapRunStartedEventDetails"]["mapRunArn"].split(":")[5] == "mapRun"


def test_a_parallels_branches_are_in_the_history_as_on_aws():
    # test_parallel_state_order (before the recording's reordering: one branch after the other here)
    branches = [{"StartAt": f"Branch{i}", "States": {f"Branch{i}": PASS_END}} for i in range(2)]
    execution = run({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}}})

    kinds = types(execution)
    assert kinds[:3] == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted"]
    assert sorted(kinds[3:7]) == ["PassStateEntered"] * 2 + ["PassStateExited"] * 2
    assert kinds[7:] == ["ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded"]
    assert sorted(entered(execution)[1:]) == ["Branch0", "Branch1"]


def test_a_failed_branch_fails_the_parallel_before_the_execution_as_on_aws():
    branches = [{"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "E", "Cause": "c"}}}]
    execution = run({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": branches, "End": True}}})

    assert types(execution) == ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted",
                                "FailStateEntered", "ParallelStateFailed", "ExecutionFailed"]


def test_concurrent_items_never_share_an_event_id():
    processor = {"StartAt": "HandleItem", "States": {"HandleItem": PASS_END}}
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often enough for a race between counting and appending to show
    try:
        execution = run({"StartAt": "MapState", "States": {"MapState": map_state(processor, MaxConcurrency=0)}},
                        list(range(40)))
    finally:
        sys.setswitchinterval(switch)

    assert [event["id"] for event in execution["events"]] == list(range(1, len(execution["events"]) + 1))
    assert types(execution).count("MapIterationSucceeded") == 40


def test_a_runtime_cause_names_the_event_that_entered_the_state_as_on_aws():
    # test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_OUTPUTPATH], after a first state (entered at #4, not #2)
    execution = run({"StartAt": "first", "States": {
        "first": {"Type": "Pass", "Next": "pass"}, "pass": {"Type": "Pass", "OutputPath": "$.NoSuch", "End": True}}})

    assert (execution["status"], execution["error"]) == ("FAILED", "States.Runtime")
    assert execution["cause"] == ("An error occurred while executing the state 'pass' (entered at the event id #4). "
                                  "Invalid path '$.NoSuch' : No results for path: $['NoSuch']")


def test_a_jsonata_items_field_of_the_wrong_type_is_an_evaluation_failure_as_on_aws():
    # test_map_state_items_eval_jsonata_fail[object]
    processor = {"StartAt": "Pass", "States": {"Pass": PASS_END}}
    execution = run({"QueryLanguage": "JSONata", "StartAt": "MapIterateState", "States": {
        "MapIterateState": map_state(processor, Items="{% {'foo': 'bar'} %}")}})

    assert (execution["status"], execution["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert execution["cause"] == (
        "An error occurred while executing the state 'MapIterateState' (entered at the event id #2). The JSONata "
        "expression '{'foo': 'bar'}' specified for the field 'Items' returned an unexpected result type. "
        "Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}")
    assert types(execution) == ["ExecutionStarted", "MapStateEntered", "EvaluationFailed", "MapStateFailed",
                                "ExecutionFailed"]


def test_a_jsonata_maps_input_must_be_an_array_as_on_aws():
    # test_map_state_items_input_types[number]
    processor = {"StartAt": "Pass", "States": {"Pass": PASS_END}}
    execution = run({"QueryLanguage": "JSONata", "StartAt": "MapIterateState", "States": {
        "MapIterateState": map_state(processor)}}, 1)

    assert (execution["status"], execution["error"]) == ("FAILED", "States.QueryEvaluationError")
    assert execution["cause"].endswith("(entered at the event id #2). Map state input must be an array but was: 1")


@pytest.mark.parametrize("stamp", ["2016-12-05 21:29:29Z", "2016-12-05T21:29:29", "2016-13-05T21:29:29Z"])
def test_a_wait_timestamp_must_be_an_iso_8601_offset_date_time_as_on_aws(stamp):
    # test_wait_timestamp_path[NO_T, NO_Z, INVALID_DATE], test_wait_timestamp_jsonata[...]
    path = run({"StartAt": "WaitUntil", "States": {"WaitUntil": {
        "Type": "Wait", "TimestampPath": "$.TimestampValue", "End": True}}}, {"TimestampValue": stamp})
    jsonata = run({"QueryLanguage": "JSONata", "StartAt": "WaitState", "States": {"WaitState": {
        "Type": "Wait", "Timestamp": "{% $states.input.TimestampValue %}", "End": True}}}, {"TimestampValue": stamp})

    assert (path["error"], path["cause"]) == ("States.Runtime", (
        "An error occurred while executing the state 'WaitUntil' (entered at the event id #2). The TimestampPath "
        f"parameter does not reference a valid ISO-8601 extended offset date-time format string: "
        f"$.TimestampValue == {stamp}"))
    assert types(jsonata) == ["ExecutionStarted", "WaitStateEntered", "EvaluationFailed", "ExecutionFailed"]
    assert (jsonata["error"], jsonata["cause"]) == ("States.QueryEvaluationError", (
        "An error occurred while executing the state 'WaitState' (entered at the event id #2). The Timestamp field "
        f"cannot be parsed as an ISO-8601 extended offset date-time format string: {stamp}"))


def test_a_wait_timestamp_may_have_nanoseconds_or_an_offset():
    for stamp in ("2016-03-05T21:29:29.243167252Z", "2016-03-14T01:59:00+01:00"):
        execution = run({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.t", "End": True}}},
                        {"t": stamp})
        assert execution["status"] == "SUCCEEDED"


@pytest.mark.parametrize(("field", "value", "events"), [
    ("MaxConcurrency", "NoNumber", ["ExecutionStarted", "MapStateEntered", "ExecutionFailed"]),
    ("ToleratedFailureCount", {}, ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "ExecutionFailed"]),
])
def test_a_count_path_must_name_an_integer_as_on_aws(field, value, events):
    # test_max_concurrency_path[NoNumber], test_map_state_tolerated_failure_count_path[tolerated_failure_count_value0]
    processor = {"ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "Inner", "States": {"Inner": PASS_END}}
    state = {**map_state(processor, ItemsPath="$.Items"), f"{field}Path": "$.Count"}
    del state["MaxConcurrency"]
    execution = run({"StartAt": "MapState", "States": {"MapState": state}}, {"Items": [0], "Count": value})

    assert (execution["error"], types(execution)) == ("States.Runtime", events)
    shown = value if isinstance(value, str) else "{}"
    assert execution["cause"] == ("An error occurred while executing the state 'MapState' (entered at the event id "
                                  f'#2). The {field}Path field refers to value "{shown}" which is not a valid '
                                  "integer: $.Count")
