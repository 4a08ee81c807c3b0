"""Intrinsic functions and the payload limit as on AWS (patches intrinsics, payload_limit).

Each behaviour is an AWS-recorded parity case (intrinsic_functions/*, error_handling
test_start_large_input) that unpatched MiniStack 1.5.33 got wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from testbed.emulator import patches
from testbed.emulator.patches.execution_input import MAX_INPUT_BYTES

CTX = {"State": {"Name": "State_1"}}


@pytest.fixture(scope="module")
def sfn() -> Any:
    patches.apply_all()
    from ministack.services import stepfunctions

    return stepfunctions


def test_format_prints_null_objects_and_booleans_as_java_does_on_aws(sfn):
    data = {"fst": None, "snd": {"Arg1": 1, "Arg2": [True, "x"]}}
    result = sfn._evaluate_intrinsic("States.Format('a={} b={}.', $.fst, $.snd)", data, CTX)
    assert result == "a=null b={Arg1=1, Arg2=[true, x]}."


@pytest.mark.parametrize(("fst", "snd", "total"), [
    (1.49, 1.5, 3), (-1.5, -1.51, -3), (0.5, 0, 1), (2.5, 0, 3), (-0.5, 0.5, 1), (3, 4, 7),
])
def test_math_add_rounds_each_operand_half_up_as_on_aws(sfn, fst, snd, total):
    assert sfn._evaluate_intrinsic("States.MathAdd($.a, $.b)", {"a": fst, "b": snd}, CTX) == total


@pytest.mark.parametrize("text", ["", " "])
def test_string_to_json_of_a_blank_string_is_null_as_on_aws(sfn, text):
    assert sfn._evaluate_intrinsic("States.StringToJson($.s)", {"s": text}, CTX) is None


def test_a_state_output_over_256_kib_is_data_limit_exceeded_as_on_aws(sfn):
    state = {"Type": "Pass", "Result": {"Arg1": "a" * MAX_INPUT_BYTES}, "End": True}
    with pytest.raises(sfn._ExecutionError) as raised:
        sfn._execute_pass(state, {}, CTX)
    assert raised.value.error == "States.DataLimitExceeded"
    assert raised.value.cause == ("The state/task 'State_1' returned a result with a size exceeding "
                                  "the maximum number of bytes service limit.")
    just_under = {"Type": "Pass", "Result": "a" * (MAX_INPUT_BYTES - 2), "End": True}
    assert len(sfn._execute_pass(just_under, {}, CTX)[0]) == MAX_INPUT_BYTES - 2
