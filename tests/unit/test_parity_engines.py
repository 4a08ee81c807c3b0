"""The cross-engine parity report: per case, which engine matches AWS."""

from __future__ import annotations

from testbed.parity import engines


def _result(case_id: str, matched: bool, *categories: str) -> dict:
    return {"id": case_id, "matched": matched, "differences": [{"category": c, "detail": ""} for c in categories]}


def test_each_case_gets_a_verdict_and_disagreements_name_the_missing_engines_differences() -> None:
    ministack = {r["id"]: r for r in [_result("a", True), _result("b", True), _result("c", False, "error"),
                                      _result("d", False, "output")]}
    localstack = {r["id"]: r for r in [_result("a", True), _result("b", False, "status", "error"),
                                       _result("c", True), _result("d", False, "output"), _result("e", True)]}
    verdicts, disagreements = engines.compare(ministack, localstack, ("embedded", "localstack"))
    assert verdicts == {"both match AWS": 1, "only MiniStack matches AWS": 1, "only LocalStack matches AWS": 1,
                        "neither matches AWS": 1}  # "e" ran on one engine only: not compared
    assert disagreements == ["b  [only MiniStack matches AWS; the other: error, status]",
                             "c  [only LocalStack matches AWS; the other: error]"]
