"""The parity runner's pure parts, on synthetic cases written here (no recorded case data)."""

from __future__ import annotations

import json

import pytest

from testbed.parity import baseline, normalise, parallel_order
from testbed.parity.__main__ import main
from testbed.parity.cases import ENV_VAR, Case, CasesMissing, cases_dir, from_dict, load
from testbed.parity.compare import compare
from testbed.parity.execute import Observed
from testbed.parity.handlers import source
from testbed.parity.names import Names

CASE = {
    "id": "choice_operators/test_made_up.py::TestMadeUp::test_one[x]",
    "definition": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    "input": "{}", "state_machine_name": "sm_rec", "execution_name": "exec_rec",
    "resources": [], "wildcards": [],
    "replacements": [["sm_rec", "<ArnPart_0idx>"], ["exec_rec", "<ExecArnPart_0idx>"], ["fn_rec", "<fn>"]],
    "expected": {"status": "SUCCEEDED", "output": {}},
}


def make_case(**changes: object) -> Case:
    return from_dict({**CASE, **changes})


def names() -> Names:
    found = Names(suffix="t0001", account="000000000000", region="eu-west-1")
    for recorded in ("sm_rec", "fn_rec"):
        found.add(recorded)
    return found


def test_names_go_to_ours_and_back():
    ours = names()
    recorded = '{"Resource": "arn:aws:lambda:us-east-1:111111111111:function:fn_rec", "x": "no_such_fn_rec"}'
    mapped = ours.to_ours(recorded)
    assert mapped == ('{"Resource": "arn:aws:lambda:eu-west-1:000000000000:function:fn_rec_t0001", '
                      '"x": "no_such_fn_rec_t0001"}')
    assert ours.to_recorded(mapped) == recorded


def test_normaliser_applies_names_replacements_partition_region_and_trace_path():
    raw = json.dumps({
        "Id": "arn:aws:states:eu-west-1:000000000000:execution:sm_rec_t0001:exec_rec",
        "Cause": json.dumps({"stackTrace": ['  File "/tmp/w/1/handler.py", line 2, in handler\n']}),
    })
    seen = Observed(status="SUCCEEDED", output=raw, events=[
        {"type": "ExecutionStarted"}, {"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "P"}}])
    got = normalise.observed(seen, make_case(), names())
    arn = "arn:<partition>:states:<region>:111111111111:execution:<ArnPart_0idx>:<ExecArnPart_0idx>"
    assert got["output"]["Id"] == arn
    assert json.loads(got["output"]["Cause"])["stackTrace"] == ['  File "/var/task/handler.py", line 2, in handler\n']
    assert (got["event_types"], got["states_entered"]) == (["ExecutionStarted", "PassStateEntered"], ["P"])


def test_only_a_text_starting_with_a_brace_is_parsed():
    assert normalise.parse_once('{"a": 1}') == {"a": 1}
    assert normalise.parse_once("[1, 2]") == "[1, 2]"
    assert normalise.parse_once("{not json") == "{not json"


def categories(expected: dict, actual: dict, wildcards: list[str] | None = None) -> list[str]:
    return [d.category for d in compare(expected, actual, wildcards or [])]


def test_parallel_events_are_ordered_as_the_recording_transformer_left_them():
    def state(kind: str, name: str) -> dict:
        return {"type": f"PassState{kind}", f"state{kind}EventDetails": {"name": name, "input": "{}"}}

    # Two branches as they ran, interleaved; a nested Parallel in the second.
    ran = [{"type": "ParallelStateEntered"}, {"type": "ParallelStateStarted"},
           state("Entered", "B2"), state("Entered", "A1"), state("Exited", "A1"), state("Exited", "B2"),
           {"type": "ParallelStateSucceeded"}, {"type": "ParallelStateExited"}, {"type": "ExecutionSucceeded"}]
    shown = parallel_order.ordered(ran)
    assert [e["type"] for e in shown] == ["ParallelStateEntered", "ParallelStateStarted", "PassStateEntered",
                                          "PassStateEntered", "PassStateExited", "PassStateExited",
                                          "ParallelStateExited", "ExecutionSucceeded"]  # Succeeded dropped, as recorded
    assert [e["stateEnteredEventDetails"]["name"] for e in shown if "stateEnteredEventDetails" in e] == ["A1", "B2"]
    assert parallel_order.applies(["ParallelStateStarted"]) and not parallel_order.applies(["MapStateStarted"])


def test_comparer_names_each_difference():
    expected = {"status": "FAILED", "error": "E", "cause": "c", "event_types": ["A"], "states_entered": ["S"]}
    actual = {"status": "SUCCEEDED", "error": None, "cause": None, "output": "{}", "event_types": ["B"],
              "states_entered": []}
    assert categories(expected, actual) == ["status", "error-name", "cause-text", "history-events", "states"]
    assert categories({"status": "SUCCEEDED", "output": {"a": 1}}, {"status": "SUCCEEDED", "output": {"a": 2}}) == [
        "output"]


def test_comparer_is_strict_on_types():
    assert categories({"output": {"a": 1}}, {"output": {"a": True}}) == ["output"]
    assert categories({"output": {"a": 1}}, {"output": {"a": 1.0}}) == ["output"]
    assert categories({"output": {"a": [1]}}, {"output": {"a": [1, 2]}}) == ["output"]


def test_a_top_level_output_text_is_compared_as_json_not_as_spacing():
    assert categories({"output": "[1,2,3]"}, {"output": "[1, 2, 3]"}) == []
    assert categories({"output": "[1,2,3]"}, {"output": "[1, 2]"}) == ["output"]


def test_placeholders_wildcards_volatile_keys_and_dates_match_what_differs_by_nature():
    expected = {"output": {
        "Cause": "Request ID: <request_id>; id <uuid:1>; input '<json-input:1>'",
        "Date": "date", "RequestId": "RequestId", "StartTime": "date", "Random": "RandomNumberGenerated",
        "Log": "<LogResult:1>",
    }}
    actual = {"output": {
        "Cause": "Request ID: abc-123; id 0b7c9b4e-8a1a-4a5e-9a55-2b6f4c9d1e20; input '{\"a\": 1}'",
        "Date": "Tue, 01 Jan 2030", "RequestId": "r-1", "StartTime": "2030-01-01T00:00:00.123Z", "Random": 42,
        "Log": "U1RBUlQ=",
    }}
    assert categories(expected, actual, ["RandomNumberGenerated", "LogResult"]) == []
    actual["output"]["Cause"] = "Request ID: abc; id not-a-uuid; input ''"
    assert categories(expected, actual, ["RandomNumberGenerated", "LogResult"]) == ["output"]
    assert categories({"output": {"StartTime": "date"}}, {"output": {"StartTime": "yesterday"}}) == ["output"]


def test_a_masked_table_name_matches_a_table_name_only():
    expected = {"cause": "Value '/<test-table>' at 'tableName' failed"}
    assert categories(expected, {"cause": "Value '/invalid_table_1a2b' at 'tableName' failed"}) == []
    assert categories(expected, {"cause": "Value '/two words' at 'tableName' failed"}) == ["cause-text"]


def test_baseline_holds_hashes_and_judges_only_the_cases_that_ran(tmp_path):
    a, b, c = "area/x.py::T::a", "area/x.py::T::b", "area/x.py::T::c"
    path = tmp_path / "baseline.txt"
    baseline.write(path, baseline.updated(set(), [a, b, c], [a, b]))
    text = path.read_text()
    assert a not in text and baseline.case_hash(a) in text and len(baseline.case_hash(a)) == 16
    known = baseline.read(path)
    change = baseline.diff(known, [b, c], [c])  # a did not run: not judged
    assert (change.regressions, change.progress) == ([b], [c])
    assert baseline.updated(known, [b, c], [c]) == {baseline.case_hash(a), baseline.case_hash(c)}


def test_a_missing_cases_folder_names_the_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "absent"))
    with pytest.raises(CasesMissing, match=ENV_VAR):
        cases_dir(str(tmp_path / "absent"))
    assert main([]) == 2
    assert ENV_VAR in capsys.readouterr().err


def test_cases_load_sorted_with_their_area(tmp_path):
    second = {**CASE, "id": "base/test_b.py::T::t"}
    (tmp_path / "a__b.json").write_text(json.dumps({"cases": [CASE, second]}))
    (tmp_path / "SOURCE.json").write_text("{}")
    loaded = load(tmp_path)
    assert [c.area for c in loaded] == ["base", "choice_operators"]
    (tmp_path / "broken.json").write_text("[]")
    with pytest.raises(CasesMissing, match=r"broken\.json"):
        load(tmp_path)


def test_handlers_raise_on_the_lines_aws_recorded():
    assert source("raise_exception.py").splitlines()[1].strip() == 'raise Exception("Some exception was raised.")'
    assert source("raise_custom_exception.py").splitlines()[8].strip() == "raise CustomException()"
    assert source("no_such_handler.py") is None and source("__init__.py") is None


def test_a_baseline_case_that_stops_matching_fails_the_run_and_is_named(tmp_path, capsys):
    from testbed.parity.__main__ import _judge, parse

    path = tmp_path / "baseline.txt"
    baseline.write(path, {baseline.case_hash("area/a"), baseline.case_hash("area/b")})
    args = parse(["--baseline", str(path)])
    assert _judge(args, ["area/a", "area/b"], ["area/a", "area/b"]) == 0
    assert _judge(args, ["area/a", "area/b"], ["area/a"]) == 1
    assert "area/b" in capsys.readouterr().out
    assert _judge(parse(["--baseline", str(path), "--update-baseline"]), ["area/a", "area/b"], ["area/a"]) == 0
    assert baseline.read(path) == {baseline.case_hash("area/a")}
