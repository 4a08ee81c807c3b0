"""The docs' cross-engine table is generated from the committed baselines, and never stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.config import Config
from testbed.parity import baseline, cases, engines_table
from testbed.parity.cases import Case


def case(case_id: str, status: str) -> Case:
    return cases.from_dict({"id": case_id, "definition": {}, "state_machine_name": "sm", "execution_name": "ex",
                            "expected": {"status": status}})


CASES = [case("scenarios/test_a.py::T::one", "FAILED"), case("scenarios/test_a.py::T::two", "SUCCEEDED"),
         case("scenarios/test_a.py::T::three", "SUCCEEDED"), case("base/test_b.py::T::one", "SUCCEEDED")]


def hashes(*ids: str) -> set[str]:
    return {baseline.case_hash(i) for i in ids}


def test_each_behaviour_counts_what_aws_recorded_and_which_engine_matches() -> None:
    ministack = hashes("scenarios/test_a.py::T::one", "base/test_b.py::T::one")
    localstack = hashes("scenarios/test_a.py::T::one", "scenarios/test_a.py::T::two")
    rows = engines_table.rows(CASES, ministack, localstack)

    assert [r.behaviour for r in rows] == ["base/test_b", "scenarios/test_a"]
    scenarios = rows[1]
    assert (scenarios.aws, scenarios.cases, scenarios.ministack, scenarios.localstack) == \
        ("1 FAILED, 2 SUCCEEDED", 3, 1, 2)
    assert (scenarios.only_ministack, scenarios.only_localstack, scenarios.neither) == (0, 1, 1)
    assert engines_table.render(rows).splitlines()[-1] == "| **all** | 4 executions | 2/4 | 2/4 | 1 | 1 | 1 |"


def test_the_table_is_written_between_the_markers_only(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{engines_table.BEGIN}\nold\n{engines_table.END}\nafter\n", encoding="utf-8")
    assert engines_table.write(CASES, doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith(f"before\n{engines_table.BEGIN}\n| behaviour")
    assert text.endswith(f"{engines_table.END}\nafter\n")
    assert not engines_table.write(CASES, doc)  # already current


def test_the_committed_table_is_what_the_baselines_give() -> None:
    try:
        loaded = cases.load(cases.cases_dir(Config.from_env().parity_cases))
    except cases.CasesMissing as missing:
        pytest.skip(f"no parity cases to build the table from ({missing})")
    committed = engines_table.committed(engines_table.DOC.read_text(encoding="utf-8"))
    assert committed == engines_table.from_baselines(loaded), (
        "docs/localstack.md's per-behaviour parity table is stale: run "
        "`make parity-engines PARITY_ARGS=--write-docs` and commit it")
