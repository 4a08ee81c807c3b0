"""`python -m testbed.coverage` (`make coverage`): regenerate the report from the last test run's data."""

from __future__ import annotations

import argparse
import sys

from testbed import settings
from testbed.config import Config
from testbed.coverage import graph, html, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.coverage", description=__doc__)
    parser.add_argument("--fail-under", type=float, default=None, metavar="PERCENT",
                        help="exit 1 if fewer transitions are covered")
    args = parser.parse_args(argv)
    directory = Config.from_env().reports_dir
    records = report.load_records(directory / report.DATA_FILE)
    if not records:
        print(f"error: no recorded executions in {directory / report.DATA_FILE}; run `make test` first",
              file=sys.stderr)
        return 1
    try:
        asl = graph.load(settings.ASL_PATH)
    except graph.AslError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    coverage = report.compute(asl, records)
    print(coverage.summary_line(html.write(coverage, directory, settings.ASL_PATH.name)))
    if args.fail_under is not None and coverage.percent < args.fail_under:
        print(f"FAIL: transition coverage {coverage.percent:.1f}% is under {args.fail_under:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
