"""Tables per area and per difference category, and the JSON report."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from testbed.parity.runner import CaseResult


def area_rows(results: list[CaseResult]) -> list[tuple[str, int, int]]:
    """(area, cases, matched), largest area first, then the total."""
    cases, matched = Counter[str](), Counter[str]()
    for result in results:
        cases[result.area] += 1
        matched[result.area] += result.matched
    rows = [(area, cases[area], matched[area]) for area in sorted(cases, key=lambda a: (-cases[a], a))]
    return [*rows, ("total", len(results), sum(matched.values()))]


def category_counts(results: list[CaseResult]) -> Counter[str]:
    """How many cases show each category of difference (a case may show several)."""
    return Counter(category for r in results for category in {d.category for d in r.differences})


def render(results: list[CaseResult]) -> str:
    lines = [f"{'area':<22}{'cases':>7}{'matched':>9}{'%':>7}"]
    for area, total, matched in area_rows(results):
        lines.append(f"{area:<22}{total:>7}{matched:>9}{100 * matched / total:>6.1f}%")
    lines += ["", f"{'difference':<22}{'cases':>7}"]
    lines += [f"{category:<22}{count:>7}" for category, count in category_counts(results).most_common()]
    return "\n".join(lines)


def as_json(results: list[CaseResult], backend: str, endpoint: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "endpoint": endpoint,
        "cases": len(results),
        "matched": sum(r.matched for r in results),
        "areas": [{"area": a, "cases": t, "matched": m} for a, t, m in area_rows(results)],
        "categories": dict(category_counts(results).most_common()),
        "results": [
            {"id": r.id, "area": r.area, "matched": r.matched, "seconds": round(r.seconds, 2),
             "differences": [{"category": d.category, "detail": d.detail} for d in r.differences]}
            for r in results
        ],
    }


def write(path: Path, results: list[CaseResult], backend: str, endpoint: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(as_json(results, backend, endpoint), indent=1) + "\n", encoding="utf-8")
