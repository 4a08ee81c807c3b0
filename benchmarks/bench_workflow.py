"""Benchmark: how long the testbed takes, end to end and per part. Prints figures only.

    make bench                 # or: .venv/bin/python benchmarks/bench_workflow.py --runs 50

Starts its own embedded stack on free ports (nothing to set up), then measures: stack start,
first and second seed, execution latency (start_execution until the end, sequentially), and
rendering alone (no network).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from generic_api_call.render import render_request
from testbed import aws, executions, settings
from testbed.embedded import EmbeddedStack
from testbed.probes import free_port
from testbed.templates import load_dir


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def summary(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"{label:<34} n={len(ms):<4} min {ms[0]:8.1f}  p50 {statistics.median(ms):8.1f}  "
            f"p95 {p95:8.1f}  max {ms[-1]:8.1f}  ms")


def bench_render(iterations: int) -> list[str]:
    templates = {f.template.name: f.template for f in load_dir(settings.TEMPLATES_DIR)}
    params = {
        "get_user": {"user_id": "42", "fields": "id,name"},
        "create_order": {"customer_id": "c-1", "items": [{"sku": "A", "qty": 1}] * 10, "order_ref": "r-1"},
    }
    lines = []
    for name, values in params.items():
        samples = [timed(lambda t=templates[name], v=values: render_request(t, v, "http://api.test"))
                   for _ in range(iterations)]
        lines.append(summary(f"render {name}", samples))
    return lines


def bench_stack(runs: int) -> list[str]:
    with tempfile.TemporaryDirectory() as run_dir:
        stack = EmbeddedStack(run_dir=Path(run_dir), emulator_port=free_port(), mockapi_port=free_port(),
                              extra_env={"SFN_WAIT_SCALE": "0"})
        lines = [summary("stack start (emulator + mock API)", [timed(stack.start)])]
        try:
            report = stack.seed()
            lines.append(summary("second seed (nothing changes)", [timed(stack.seed)]))
            sfn = aws.client("stepfunctions", endpoint=stack.endpoints.aws)
            for template, params in (("get_user", {"user_id": "42"}), ("get_status", {"code": 500})):
                execution_input = {"templateName": template, "method": "GET", "params": params}
                samples = [timed(lambda i=execution_input: executions.run(sfn, report.state_machine_arn, i))
                           for _ in range(runs)]
                lines.append(summary(f"execution {template} {params}", samples))
        finally:
            lines.append(summary("stack stop", [timed(stack.stop)]))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30, help="executions per template")
    parser.add_argument("--renders", type=int, default=2000, help="renders per template")
    args = parser.parse_args()
    for line in bench_render(args.renders) + bench_stack(args.runs):
        print(line, flush=True)


if __name__ == "__main__":
    main()
