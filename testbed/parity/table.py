"""The parity table in the docs, generated from a `make parity` report, never typed by hand.

`make parity-table` (after `make parity`) rewrites the blocks between the markers in
docs/fidelity.md (per area, and each remaining difference with why it stays) and README.md (the
one-line score); `--check` fails when they differ from the report, which `.ci/run` runs after its
parity phase. Case ids never appear: only areas, categories and counts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from testbed import settings

DOCS = settings.ROOT / "docs" / "fidelity.md"
README = settings.ROOT / "README.md"
START, END = "<!-- parity-table:start -->", "<!-- parity-table:end -->"

# Why a remaining difference stays, by (area, categories). Written by whoever analysed it; a
# remaining difference without a reason shows "not analysed yet".
REASONS: dict[tuple[str, str], str] = {
    ("outputdecl", "history-events, output, status"):
        "JSONata `Output` reading `$states.result` of a Lambda task or `$states.context`: MiniStack's "
        "JSONata binding has neither, so the expression returns nothing (upstream, not patched yet)",
    ("arguments", "history-events, output, status"):
        "JSONata `Arguments` reading `$states.context`: MiniStack's JSONata binding lacks it (upstream, "
        "not patched yet)",
    ("assign", "history-events, output, states"):
        "a variable assigned inside a Map iteration is not visible after the Map as AWS scopes it "
        "(`[null]`); MiniStack's variable scopes are per execution",
    ("context_object", "output"):
        "`$$` in a `ResultSelector` of `lambda:invoke`: MiniStack passes no context object there",
}


def load(report_path: Path) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"error: {report_path}: cannot read a parity report ({exc}); "
                         "run `make parity` first") from None
    return report


def remaining(report: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(area, the sorted categories of its differences) -> how many cases do not match so."""
    return Counter(
        (r["area"], ", ".join(sorted({d["category"] for d in r["differences"]})))
        for r in report["results"] if not r["matched"])


def docs_block(report: dict[str, Any]) -> str:
    total, matched = report["cases"], report["matched"]
    lines = [f"On {report['backend']} (MiniStack with the patches): **{matched} of {total} "
             f"({100 * matched / total:.1f} %)**.", "", "| area | cases | match AWS | % |",
             "| --- | ---: | ---: | ---: |"]
    lines += [f"| {a['area']} | {a['cases']} | {a['matched']} | {100 * a['matched'] / a['cases']:.1f} |"
              for a in report["areas"] if a["area"] != "total"]
    lines += [f"| **total** | **{total}** | **{matched}** | **{100 * matched / total:.1f}** |", ""]
    left = remaining(report)
    if left:
        lines += ["What still differs, and why it stays:", "", "| area | differs in | cases | why |",
                  "| --- | --- | ---: | --- |"]
        lines += [f"| {area} | {categories} | {count} | {REASONS.get((area, categories), 'not analysed yet')} |"
                  for (area, categories), count in sorted(left.items())]
    return "\n".join(lines)


def readme_block(report: dict[str, Any]) -> str:
    total, matched = report["cases"], report["matched"]
    return (f"**Parity with AWS:** {matched} of {total} Step Functions executions recorded on AWS "
            f"behave the same here ({100 * matched / total:.1f} %; `make parity`, "
            "[per area and what still differs](docs/fidelity.md#parity-with-aws-measured-make-parity)).")


def replaced(text: str, block: str, where: Path) -> str:
    pattern = re.compile(re.escape(START) + r"\n.*?\n" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"error: {where}: no {START} ... {END} block to fill")
    return pattern.sub(lambda _: f"{START}\n{block}\n{END}", text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.parity.table", description=__doc__)
    parser.add_argument("report", type=Path, help="a `make parity` report (.testbed/reports/parity-embedded.json)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the docs differ from the report")
    args = parser.parse_args(argv)
    report = load(args.report)
    stale = []
    for path, block in ((DOCS, docs_block(report)), (README, readme_block(report))):
        text = path.read_text(encoding="utf-8")
        new = replaced(text, block, path)
        if new != text:
            stale.append(path.relative_to(settings.ROOT))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"the parity table in {', '.join(map(str, stale))} is not this report's: `make parity-table`",
              file=sys.stderr)
        return 1
    print(f"parity table: {'up to date' if not stale else 'written to ' + ', '.join(map(str, stale))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
