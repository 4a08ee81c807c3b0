"""State-machine coverage: attribution of histories to ASL transitions, the drawing, the threshold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from testbed import settings
from testbed.coverage import attribution, graph, report, svg

ASL = json.loads(settings.ASL_PATH.read_text())


def entered(name: str, kind: str, data: Any = None) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name}
    if data is not None:
        details["input"] = json.dumps(data)
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": details}


def failed(error: str) -> dict[str, Any]:
    return {"type": "LambdaFunctionFailed", "lambdaFunctionFailedEventDetails": {"error": error, "cause": "..."}}


# As AWS records them: getItem is a service integration, InvokeLambdaToCallAPI a Lambda ARN.
GET_ITEM = [{"type": "TaskScheduled", "taskScheduledEventDetails": {"resourceType": "dynamodb", "resource": "getItem"}},
            {"type": "TaskStarted", "taskStartedEventDetails": {"resourceType": "dynamodb", "resource": "getItem"}},
            {"type": "TaskSucceeded", "taskSucceededEventDetails": {"resourceType": "dynamodb", "resource": "getItem"}}]
SCHEDULED = [{"type": "LambdaFunctionScheduled", "lambdaFunctionScheduledEventDetails": {"resource": "arn:fn"}},
             {"type": "LambdaFunctionStarted"}]
SUCCEEDED = {"type": "LambdaFunctionSucceeded", "lambdaFunctionSucceededEventDetails": {"output": "{}"}}
FOUND = {"template": {"Item": {"PK": {"S": "x"}}}}

# A success, and an upstream fault retried once then caught.
SUCCESS_HISTORY = [
    entered("FetchTemplateFromDynamoDB", "Task"), *GET_ITEM,
    entered("CheckTemplateExists", "Choice", FOUND),
    entered("InvokeLambdaToCallAPI", "Task"), *SCHEDULED, SUCCEEDED,
    entered("ChoiceState", "Choice", {**FOUND, "apiResponse": {"statusCode": 200}}),
    entered("Success", "Succeed"),
]
CAUGHT_HISTORY = [
    entered("FetchTemplateFromDynamoDB", "Task"), *GET_ITEM,
    entered("CheckTemplateExists", "Choice", FOUND),
    entered("InvokeLambdaToCallAPI", "Task"), *SCHEDULED, failed("UpstreamTimeout"),
    *SCHEDULED, failed("InvalidTemplate"),
    entered("HandleFailure", "Fail"),
]


def asl_edges(definition: dict[str, Any]) -> set[tuple[str, str]]:
    """(state, way out) for every transition in the ASL, counted here independently of graph.py."""
    edges: set[tuple[str, str]] = set()
    for name, state in definition["States"].items():
        edges |= {(name, f"retry[{i}]") for i in range(len(state.get("Retry", [])))}
        edges |= {(name, f"choice[{i}]") for i in range(len(state.get("Choices", [])))}
        edges |= {(name, f"catch[{i}]") for i in range(len(state.get("Catch", [])))}
        edges |= {(name, key.lower()) for key in ("Next", "Default") if key in state}
    return edges


def test_attribution_names_the_rule_catch_and_retry_taken() -> None:
    asl = graph.from_definition(ASL)
    taken = attribution.attribute(asl, attribution.compact(SUCCESS_HISTORY))
    assert taken.edges == ["FetchTemplateFromDynamoDB#next", "CheckTemplateExists#choice[0]",
                           "InvokeLambdaToCallAPI#next", "ChoiceState#choice[2]"]
    caught = attribution.attribute(asl, attribution.compact(CAUGHT_HISTORY))
    assert "InvokeLambdaToCallAPI#retry[0]" in caught.edges  # UpstreamTimeout is the first Retry rule's
    assert caught.edges[-1] == "InvokeLambdaToCallAPI#catch[0]"
    assert not taken.unexplained and not caught.unexplained


def test_the_states_inside_a_map_or_parallel_are_not_top_level_transitions() -> None:
    # As AWS records a Map (retried once, its items' states in the history) inside the workflow.
    item = [{"type": "MapIterationStarted"}, entered("Inner", "Pass"), {"type": "MapIterationFailed"}]
    history = [entered("FetchTemplateFromDynamoDB", "Map"), {"type": "MapStateStarted"}, *item,
               {"type": "MapStateStarted"}, *item, entered("Nested", "Parallel"), {"type": "ParallelStateStarted"},
               entered("Deeper", "Pass"), {"type": "ParallelStateSucceeded"},
               {"type": "MapStateSucceeded"}, entered("CheckTemplateExists", "Choice", FOUND)]
    names = [event["name"] for event in attribution.compact(history) if "name" in event]
    assert names == ["FetchTemplateFromDynamoDB", "CheckTemplateExists"]
    assert [event["type"] for event in attribution.compact(history)][-2:] == ["MapStateSucceeded", "ChoiceStateEntered"]


def test_a_choice_rule_is_found_by_evaluating_it_not_by_its_target() -> None:
    # Rules 1 and 2 of ChoiceState both go to DescribeInvalidResult: only evaluation tells them apart.
    asl = graph.from_definition(ASL)
    for response, rule in (({}, 0), ({"statusCode": "200"}, 1)):
        history = [entered("ChoiceState", "Choice", {"apiResponse": response}),
                   entered("DescribeInvalidResult", "Pass")]
        assert attribution.attribute(asl, attribution.compact(history)).edges == [f"ChoiceState#choice[{rule}]"]


def test_the_drawing_holds_every_state_and_transition_of_the_asl_with_the_right_marks() -> None:
    asl = graph.load(settings.ASL_PATH)
    records = [report.Record("embedded", "a", "SUCCEEDED", "t", attribution.compact(SUCCESS_HISTORY)),
               report.Record("docker", "b", "FAILED", "t", attribution.compact(CAUGHT_HISTORY))]
    coverage = report.compute(asl, records)
    drawing = ET.fromstring(svg.draw(asl, {k: sum(v.values()) for k, v in coverage.edges.items()},
                                     {k: sum(v.values()) for k, v in coverage.states.items()}))
    groups = drawing.findall("{http://www.w3.org/2000/svg}g")
    states = {g.get("data-state"): g.get("class") for g in groups if g.get("data-state")}
    edges = {g.get("data-edge"): g.get("class") for g in groups if g.get("data-edge")}

    assert set(states) == set(ASL["States"])
    assert {tuple(str(e).split("#")) for e in edges} == asl_edges(ASL)
    taken = {"FetchTemplateFromDynamoDB#next", "CheckTemplateExists#choice[0]", "InvokeLambdaToCallAPI#next",
             "ChoiceState#choice[2]", "InvokeLambdaToCallAPI#retry[0]", "InvokeLambdaToCallAPI#catch[0]"}
    assert {e for e, mark in edges.items() if mark == "edge covered"} == taken
    assert all(mark == "edge uncovered" for e, mark in edges.items() if e not in taken)
    entered_states = {"FetchTemplateFromDynamoDB", "CheckTemplateExists", "InvokeLambdaToCallAPI", "ChoiceState",
                      "Success", "HandleFailure"}
    assert {s for s, mark in states.items() if mark == "state covered"} == entered_states
    assert coverage.summary_line().startswith(f"transitions covered {len(taken)}/{len(asl_edges(ASL))}")
    assert coverage.edges["InvokeLambdaToCallAPI#catch[0]"] == {"docker": 1}  # per backend


def test_a_graph_with_a_state_going_nowhere_is_refused() -> None:
    with pytest.raises(graph.AslError, match="Nowhere"):
        graph.from_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}})


PLUGIN_TEST = '''
from datetime import datetime, timezone
from testbed.runs import executions

def test_one_execution():
    history = [{"type": "PassStateEntered", "timestamp": datetime.now(timezone.utc),
                "stateEnteredEventDetails": {"name": "FetchTemplateFromDynamoDB"}}]
    executions._notify(executions.ExecutionResult("arn:x", "SUCCEEDED", None, None, None, history), "http://h:1")
'''


@pytest.mark.parametrize(("threshold", "exit_code"), [("100", 1), ("0", 0)])
def test_the_run_fails_under_the_threshold(tmp_path: Path, threshold: str, exit_code: int) -> None:
    (tmp_path / "test_x.py").write_text(PLUGIN_TEST)
    # Only the plugin under test: the installed ones (xdist, hypothesis...) cost ~0.6 s to load.
    env = {**os.environ, "TESTBED_STATE_DIR": str(tmp_path / "state"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "testbed.coverage.plugin", "-q",
                           f"--sfn-cov-fail-under={threshold}", "test_x.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == exit_code, done.stdout + done.stderr
    assert "transitions covered 0/14" in done.stdout  # one state entered, no transition taken
    assert (tmp_path / "state" / "reports" / report.HTML_FILE).is_file()
