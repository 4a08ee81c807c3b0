"""Cross-engine parity: per case, which engine matches AWS (`make parity-engines`).

Reads the reports `make parity` wrote for each engine (.testbed/reports/parity-<backend>.json;
run `make parity` and `make parity PARITY_ARGS="--backend localstack"` first). Where the engines
disagree, at least one is wrong and the AWS recording says which: each such case is listed with
the categories of difference of the engine that missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from testbed import settings
from testbed.config import Config
from testbed.parity import cases, engines_table

ENGINE_NAMES = {"embedded": "MiniStack", "localstack": "LocalStack"}


def load(reports_dir: Path, backend: str) -> dict[str, dict[str, Any]]:
    """The backend's results by case id."""
    path = reports_dir / f"parity-{backend}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no parity report of {backend}; run "
                                f"`make parity PARITY_ARGS=\"--backend {backend}\"` first")
    return {result["id"]: result for result in json.loads(path.read_text(encoding="utf-8"))["results"]}


def verdict(matched: tuple[bool, bool], engines: tuple[str, str]) -> str:
    if all(matched):
        return "both match AWS"
    if not any(matched):
        return "neither matches AWS"
    return f"only {ENGINE_NAMES.get(engines[matched.index(True)], engines[matched.index(True)])} matches AWS"


def compare(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]],
            engines: tuple[str, str]) -> tuple[Counter[str], list[str]]:
    """(cases per verdict, one line per disagreement), over the cases both reports ran."""
    verdicts: Counter[str] = Counter()
    disagreements = []
    for case_id in sorted(first.keys() & second.keys()):
        pair = (first[case_id], second[case_id])
        matched = (bool(pair[0]["matched"]), bool(pair[1]["matched"]))
        verdicts[verdict(matched, engines)] += 1
        if matched[0] != matched[1]:
            loser = pair[matched.index(False)]
            categories = sorted({d["category"] for d in loser["differences"]})
            disagreements.append(f"{case_id}  [{verdict(matched, engines)}; the other: {', '.join(categories)}]")
    return verdicts, disagreements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.parity.engines", description=__doc__)
    parser.add_argument("--engines", default="embedded,localstack", help="two backends' reports, comma-separated")
    parser.add_argument("--list", action="store_true", help="list every case where the engines disagree")
    parser.add_argument("--write-docs", action="store_true",
                        help="write the per-behaviour table of docs/localstack.md from both committed baselines "
                             "and the cases (PARITY_CASES), then stop")
    args = parser.parse_args(argv)
    if args.write_docs:
        return write_docs()
    engines = tuple(name.strip() for name in args.engines.split(","))
    if len(engines) != 2:
        print(f"error: --engines {args.engines!r}: name two backends, e.g. embedded,localstack", file=sys.stderr)
        return 2
    pair = (engines[0], engines[1])
    reports_dir = Config.from_env().reports_dir  # the edge of `python -m testbed.parity.engines`
    try:
        first, second = load(reports_dir, pair[0]), load(reports_dir, pair[1])
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    verdicts, disagreements = compare(first, second, pair)
    for name, results in zip(pair, (first, second), strict=True):
        matched = sum(bool(r["matched"]) for r in results.values())
        print(f"{ENGINE_NAMES.get(name, name):<12}{matched:>5}/{len(results)} cases match AWS")
    print()
    for label, count in verdicts.most_common():
        print(f"{label:<28}{count:>5}")
    if args.list:
        print("\n" + "\n".join(disagreements))
    return 0


def write_docs() -> int:
    config = Config.from_env()  # the edge: PARITY_CASES
    try:
        loaded = cases.load(cases.cases_dir(config.parity_cases))
    except cases.CasesMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        changed = engines_table.write(loaded)
    except engines_table.StaleMarkers as error:
        print(f"error: {error}; put them back around the table", file=sys.stderr)
        return 2
    print(f"{engines_table.DOC.relative_to(settings.ROOT)}: table {'rewritten' if changed else 'already current'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
