"""Choice rules as AWS evaluates them (testbed/emulator/patches/choice_rules.py).

Each case is one AWS-recorded behaviour (parity cases choice_operators/*) that unpatched
MiniStack 1.5.33 got wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from testbed.emulator import patches

CTX = {"State": {"Name": "CheckStatus"}}


@pytest.fixture(scope="module")
def sfn() -> Any:
    patches.apply_all()
    from ministack.services import stepfunctions

    return stepfunctions


def matches(sfn: Any, rule: dict[str, Any], data: Any) -> bool:
    return bool(sfn._evaluate_rule({"Variable": "$.v", **rule}, data, CTX))


@pytest.mark.parametrize("value", [True, False])
def test_is_numeric_is_false_for_booleans_as_on_aws(sfn, value):
    assert not matches(sfn, {"IsNumeric": True}, {"v": value})
    assert matches(sfn, {"IsNumeric": False}, {"v": value})


@pytest.mark.parametrize(("value", "wanted"), [(0, False), (0.0, False), (1, True)])
def test_boolean_equals_never_matches_a_number_as_on_aws(sfn, value, wanted):
    assert not matches(sfn, {"BooleanEquals": wanted}, {"v": value})
    assert not matches(sfn, {"BooleanEqualsPath": "$.w"}, {"v": value, "w": wanted})


def test_is_present_is_true_for_a_present_null_as_on_aws(sfn):
    assert matches(sfn, {"IsPresent": True}, {"v": None})
    assert not matches(sfn, {"IsPresent": False}, {"v": None})
    assert matches(sfn, {"IsPresent": False}, {})


@pytest.mark.parametrize(("operator", "left", "right"), [
    ("StringLessThanPath", "A", "AB"),
    ("StringLessThanEqualsPath", "", ""),
    ("StringGreaterThanPath", "AB", "A"),
    ("StringGreaterThanEqualsPath", "AB", "A"),
    ("TimestampEqualsPath", "2012-10-09T19:00:55Z", "2012-10-09T19:00:55Z"),
    ("TimestampLessThanPath", "2012-10-09T19:00:55Z", "2012-10-09T19:00:56+00:00"),
])
def test_path_comparisons_compare_two_input_values_as_on_aws(sfn, operator, left, right):
    assert matches(sfn, {operator: "$.w"}, {"v": left, "w": right})


def test_comparisons_are_false_across_types_as_on_aws(sfn):
    assert not matches(sfn, {"NumericEquals": 200}, {"v": "200"})
    assert not matches(sfn, {"StringEquals": "true"}, {"v": True})
    assert not matches(sfn, {"TimestampEquals": "2012-10-09T19:00:55Z"}, {"v": "2012-10-09"})


def test_string_matches_reads_escaped_stars_as_on_aws(sfn):
    assert matches(sfn, {"StringMatches": "log-*.txt"}, {"v": "log-2024.txt"})
    assert matches(sfn, {"StringMatches": "a\\*b"}, {"v": "a*b"})
    assert not matches(sfn, {"StringMatches": "a\\*b"}, {"v": "axb"})


@pytest.mark.parametrize("rule", [
    {"Variable": "$.apiResponse.statusCode", "NumericLessThan": 300},
    {"Variable": "$.v", "NumericEqualsPath": "$.missing"},
])
def test_a_choice_path_naming_nothing_is_states_runtime_as_on_aws(sfn, rule):
    with pytest.raises(sfn._ExecutionError) as raised:
        sfn._evaluate_rule(rule, {"v": 1, "apiResponse": {}}, CTX)
    assert raised.value.error == "States.Runtime"
    assert raised.value.cause.startswith("An error occurred while executing the state 'CheckStatus'. Invalid path '$.")
    assert raised.value.cause.endswith("': The choice state's condition path references an invalid value.")


def test_the_workflow_guard_routes_a_missing_status_code_before_comparing(sfn):
    guard = {"Not": {"Variable": "$.apiResponse.statusCode", "IsPresent": True}}
    assert sfn._evaluate_rule(guard, {"apiResponse": {}}, CTX)
