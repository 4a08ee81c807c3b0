"""`make parity`: replay the recorded AWS executions on a stack and compare with the baseline.

Exit 0: no case of the baseline stopped matching; 1: some did (named); 2: cannot run (no
cases, the stack did not start).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testbed import aws, probes
from testbed.config import Config
from testbed.parity import baseline, report, runner
from testbed.parity.cases import CasesMissing, cases_dir, load
from testbed.stacks.base import StackError
from testbed.stacks.embedded import EmbeddedStack

# The engines a fresh stack can run, each with its baseline (the cases it matched, hashed ids).
ENGINES = ("embedded", "localstack")
BASELINES = {"embedded": Path(__file__).parent / "baseline-ministack.txt",
             "localstack": Path(__file__).parent / "baseline-localstack.txt"}
BASELINE = BASELINES["embedded"]


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m testbed.parity", description=__doc__)
    parser.add_argument("--cases", help="the cases folder (default: $PARITY_CASES, else ../shared/parity/cases)")
    parser.add_argument("--endpoint", help="a running emulator's URL (default: start a fresh stack of --backend)")
    parser.add_argument("--backend", help="the engine of the fresh stack: embedded (MiniStack, the default) or "
                                          "localstack; with --endpoint, only the name in the report's file name")
    parser.add_argument("--only", action="append", default=[], help="run the cases whose id holds this text")
    parser.add_argument("--workers", type=int, default=runner.DEFAULT_WORKERS)
    parser.add_argument("--timeout", type=float, default=runner.DEFAULT_TIMEOUT_SECONDS, help="per execution")
    parser.add_argument("--baseline", type=Path, help="default: the backend's (testbed/parity/baseline-*.txt)")
    parser.add_argument("--update-baseline", action="store_true", help="record this run's matches as the baseline")
    return parser.parse_args(argv)


@contextmanager
def endpoint(config: Config, given: str | None, backend: str = "embedded") -> Iterator[aws.Target]:
    """The given endpoint, or a fresh stack of `backend` on free ports, stopped afterwards."""
    if given:
        yield aws.Target.of(config, given)
        return
    config.state_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="parity-", dir=config.state_dir))
    engine = EmbeddedStack
    if backend == "localstack":
        from testbed.stacks.localstack_stack import LocalStackStack

        engine = LocalStackStack
    stack = engine(config, run_dir=run_dir, emulator_port=probes.free_port(), mockapi_port=probes.free_port())
    stack.start()
    try:
        yield stack.target
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    config = Config.from_env()  # the edge of `python -m testbed.parity`
    try:
        cases = load(cases_dir(args.cases or config.parity_cases))
    except CasesMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.only:
        cases = [c for c in cases if any(text in c.id for text in args.only)]
    backend = args.backend or ("endpoint" if args.endpoint else "embedded")
    if not args.endpoint and backend not in ENGINES:
        print(f"error: --backend {backend!r} is not one of: {', '.join(ENGINES)} (or give --endpoint)", file=sys.stderr)
        return 2
    args.baseline = args.baseline or BASELINES.get(backend, BASELINE)
    print(f"Replaying {len(cases)} parity cases on {args.endpoint or f'a fresh {backend} stack'}...", file=sys.stderr)
    try:
        with endpoint(config, args.endpoint, backend) as where:
            url = where.label
            results = runner.run_all(cases, runner.target(where), args.workers, args.timeout, runner.print_progress)
    except (StackError, probes.NotReady) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.render(results))
    path = config.reports_dir / f"parity-{backend}.json"
    report.write(path, results, backend, url)
    print(f"\nreport: {path}")
    return _judge(args, [r.id for r in results], [r.id for r in results if r.matched])


def _judge(args: argparse.Namespace, ran: list[str], matched: list[str]) -> int:
    known = baseline.read(args.baseline)
    if args.update_baseline:
        baseline.write(args.baseline, baseline.updated(known, ran, matched))
        print(f"baseline: {args.baseline} rewritten ({len(matched)} of {len(ran)} cases that ran match)")
        return 0
    change = baseline.diff(known, ran, matched)
    if change.progress:
        print(f"{len(change.progress)} case(s) match that the baseline does not hold: "
              "`make parity-baseline` records them")
    if change.regressions:
        print(f"REGRESSION: {len(change.regressions)} case(s) of the baseline no longer match:")
        print("\n".join(f"  {case_id}" for case_id in change.regressions))
        return 1
    print(f"baseline: no regression ({len(matched)}/{len(ran)} match; {args.baseline.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
