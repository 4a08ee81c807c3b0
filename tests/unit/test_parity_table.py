"""The parity table in the docs is generated from a report (testbed/parity/table.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testbed.parity import table


def _report(matched_b: bool) -> dict:
    results = [{"id": "x", "area": "a", "matched": True, "differences": []},
               {"id": "y", "area": "b", "matched": matched_b,
                "differences": [] if matched_b else [{"category": "output", "detail": "-"}]}]
    return {"backend": "embedded", "cases": 2, "matched": 1 + matched_b, "results": results,
            "areas": [{"area": "a", "cases": 1, "matched": 1}, {"area": "b", "cases": 1, "matched": int(matched_b)},
                      {"area": "total", "cases": 2, "matched": 1 + matched_b}]}


def test_the_block_has_every_area_and_each_remaining_difference_with_its_reason(monkeypatch) -> None:
    monkeypatch.setitem(table.REASONS, ("b", "output"), "because of B")
    block = table.docs_block(_report(False))
    assert "| a | 1 | 1 | 100.0 |" in block and "| b | 1 | 0 | 0.0 |" in block
    assert "| b | output | 1 | because of B |" in block
    assert block.count("total") == 1  # the report's own total row is not repeated
    assert "What still differs" not in table.docs_block(_report(True))
    assert "not analysed yet" in table.docs_block({**_report(False), "results": [
        {"id": "z", "area": "c", "matched": False, "differences": [{"category": "status"}]}]})


def test_check_fails_on_a_stale_table_and_writing_fixes_it(tmp_path: Path, monkeypatch, capsys) -> None:
    docs, readme = tmp_path / "fidelity.md", tmp_path / "README.md"
    for page in (docs, readme):
        page.write_text(f"before\n{table.START}\nold\n{table.END}\nafter\n")
    monkeypatch.setattr(table, "DOCS", docs)
    monkeypatch.setattr(table, "README", readme)
    monkeypatch.setattr(table.settings, "ROOT", tmp_path)
    report = tmp_path / "parity.json"
    report.write_text(json.dumps(_report(False)))
    assert table.main([str(report), "--check"]) == 1
    assert table.main([str(report)]) == 0
    assert table.main([str(report), "--check"]) == 0
    assert "1 of 2" in readme.read_text() and docs.read_text().startswith("before\n")
    report.write_text(json.dumps(_report(True)))  # a case that starts matching makes the table stale
    assert table.main([str(report), "--check"]) == 1


def test_a_page_without_the_markers_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no <!-- parity-table:start -->"):
        table.replaced("no markers", "x", tmp_path / "p.md")


def test_the_committed_table_holds_the_baselines_score() -> None:
    """The docs' total is the committed baseline's count (both written from the same run)."""
    baseline = [line for line in (table.settings.ROOT / "testbed" / "parity" / "baseline-ministack.txt")
                .read_text().splitlines() if line and not line.startswith("#")]
    assert f"**{len(baseline)} of 856" in table.DOCS.read_text()
