"""Benchmark: per backend, the workflow beside its floor. Prints figures; writes JSON.

    make bench                              # every backend that can run here, in one run
    .venv/bin/python benchmarks/bench_workflow.py --backend embedded --runs 50

Per backend it starts its own stack on free ports, seeds it, then measures, side by side:
- floor: the flow's own work without Step Functions, from this process (DynamoDB GetItem
  on the emulator, render with the Lambda's code, the HTTP call to the mock API);
- pass-only: a one-state Pass machine on the same emulator (the execution overhead);
- workflow: the real state machine (getItem, Lambda render + call, Choice);
- throughput: workflow executions started and awaited at concurrency 1, 4 and 16 (64, 64 and
  256 of them), after a warm-up round at that concurrency (each concurrent invocation has its own Lambda worker).
Latencies are start_execution until the end is seen (testbed.runs.executions.run, as tests use
it). The figures go to .testbed/reports/bench-<UTC timestamp>.json, to compare two runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from generic_api_call.destinations import AllowList
from generic_api_call.handler import prepare_request
from testbed import aws, settings
from testbed.config import Config
from testbed.deploy import seed
from testbed.runs import executions
from testbed.stacks import backends, localstack_venv
from testbed.stacks.base import Stack

WORKFLOW_INPUT = {"templateName": "get_user", "method": "GET", "params": {"user_id": "42", "fields": "id,name"}}
PASS_DEFINITION = json.dumps({"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": True}}})
BACKENDS = ("embedded", "docker", "localstack")
CONCURRENCY = (1, 4, 16)
# At least this many executions per concurrent client: 64 at concurrency 16 was 4 rounds, over in
# ~1 s, and its figure varied by 2x between runs.
ROUNDS_PER_LEVEL = 16
WARM_HOLD_MS = 500  # how long each warm-up call keeps its Lambda worker busy
BENCH_ENV = {"SFN_WAIT_SCALE": "0"}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"n": len(ms), "min": ms[0], "p50": statistics.median(ms),
            "p95": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], "max": ms[-1]}


@contextmanager
def started_stack(backend: str) -> Iterator[Stack]:
    if backend == "docker":
        from testbed.stacks.docker_stack import DockerStack

        docker = DockerStack(project_name=f"testbed-bench-{uuid.uuid4().hex[:8]}", emulator_port=0,
                             mockapi_port=0, emulator_env=BENCH_ENV)
        try:
            docker.start()
            yield docker
        finally:
            docker.stop()
        return
    from testbed.probes import free_port
    from testbed.stacks.embedded import EmbeddedStack
    from testbed.stacks.localstack_stack import LocalStackStack

    # LocalStack is the embedded stack with another engine: same mock API, same seed, same figures.
    stack_class = LocalStackStack if backend == "localstack" else EmbeddedStack
    with tempfile.TemporaryDirectory() as run_dir:
        local = stack_class(run_dir=Path(run_dir), emulator_port=free_port(), mockapi_port=free_port(),
                            extra_env=BENCH_ENV)
        try:
            local.start()
            yield local
        finally:
            local.stop()


def floor_sample(stack: Stack, dynamodb: Any, session: requests.Session) -> Callable[[], None]:
    """GetItem + render + HTTP call, in this process: what the workflow does, minus Step Functions."""
    base_url = stack.endpoints.mockapi
    allowed = AllowList.parse(seed.allowed_hosts(base_url))

    def once() -> None:
        item = dynamodb.get_item(TableName=settings.TABLE_NAME, ConsistentRead=True, Key={
            "PK": {"S": WORKFLOW_INPUT["templateName"]}, "SK": {"S": WORKFLOW_INPUT["method"]}})["Item"]
        # The Lambda's own code path up to the send (render, destination check).
        request = prepare_request(item, WORKFLOW_INPUT["params"], base_url=base_url, allowed_hosts=allowed).request
        session.request(request.method, request.url, headers=request.headers, data=request.body,
                        timeout=10).raise_for_status()

    return once


def execution_sample(sfn: Any, arn: str, execution_input: dict[str, Any]) -> Callable[[], None]:
    def once() -> None:
        result = executions.run(sfn, arn, execution_input, timeout=60)
        if result.status != "SUCCEEDED":
            raise RuntimeError(f"benchmark execution {result.status}: {result.error} {result.cause}")

    return once


def hold_workers_stub(stack: Stack) -> dict[str, Any]:
    """The warm-up's input: get_user of a user whose answer the mock API delays (a stub)."""
    user = f"bench-warm-{uuid.uuid4().hex[:8]}"
    stub = {"request": {"method": "GET", "path": f"/users/{user}"},
            "response": {"status": 200, "body": {"id": user}, "delayMs": WARM_HOLD_MS}}
    requests.post(f"{stack.endpoints.mockapi}/__admin/stubs", json=stub, timeout=10).raise_for_status()
    warm_input: dict[str, Any] = json.loads(json.dumps(WORKFLOW_INPUT))
    warm_input["params"]["user_id"] = user
    return warm_input


def throughput(stack: Stack, arn: str, concurrency: int, total: int, warm_input: dict[str, Any]) -> dict[str, float]:
    local = threading.local()

    def one(execution_input: dict[str, Any]) -> bool:
        if not hasattr(local, "sfn"):
            local.sfn = aws.client("stepfunctions", stack.target)
        return executions.run(local.sfn, arn, execution_input, timeout=120).status == "SUCCEEDED"

    with ThreadPoolExecutor(concurrency) as pool:
        # Warm: one Lambda worker per concurrent invocation. Each warm-up call holds its worker
        # for WARM_HOLD_MS, so all `concurrency` overlap; at full speed they need not (a warm
        # worker answers in ms), and after the sequential cases the warm-up left 9 of 16
        # workers: the cold starts of the rest (~1 s of CPU each) fell inside the measurement.
        list(pool.map(one, [warm_input] * concurrency))
        started = time.perf_counter()
        outcomes = list(pool.map(one, [WORKFLOW_INPUT] * total))
    elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "executions": total, "succeeded": sum(outcomes),
            "seconds": elapsed, "per_second": total / elapsed}


def bench_backend(backend: str, runs: int, per_level: int) -> dict[str, Any]:
    with started_stack(backend) as stack:
        report = stack.seed()
        sfn = aws.client("stepfunctions", stack.target)
        dynamodb = aws.client("dynamodb", stack.target)
        role = f"arn:aws:iam::000000000000:role/{settings.STATE_MACHINE_ROLE_NAME}"
        pass_arn = sfn.create_state_machine(name=f"BenchPass-{uuid.uuid4().hex[:8]}", definition=PASS_DEFINITION,
                                            roleArn=role)["stateMachineArn"]
        cases = {
            "floor": floor_sample(stack, dynamodb, requests.Session()),
            "pass_only": execution_sample(sfn, pass_arn, {}),
            "workflow": execution_sample(sfn, report.state_machine_arn, WORKFLOW_INPUT),
        }
        latency: dict[str, dict[str, float]] = {}
        for name, sample in cases.items():
            for _ in range(3):  # warm: Lambda worker, connections
                sample()
            latency[name] = stats([timed(sample) for _ in range(runs)])
        warm_input = hold_workers_stub(stack)
        levels = [throughput(stack, report.state_machine_arn, c, max(per_level, ROUNDS_PER_LEVEL * c), warm_input)
                  for c in CONCURRENCY]
        return {"backend": backend, "latency_ms": latency, "throughput": levels}


def print_backend(result: dict[str, Any]) -> None:
    floor = result["latency_ms"]["floor"]["p50"]
    print(f"\n== {result['backend']}: latency per execution (ms; ratio = p50 / floor p50)")
    print(f"  {'case':<11} {'n':>4} {'min':>8} {'p50':>8} {'p95':>8} {'max':>8} {'ratio':>7}")
    for name, s in result["latency_ms"].items():
        print(f"  {name:<11} {s['n']:>4} {s['min']:>8.1f} {s['p50']:>8.1f} {s['p95']:>8.1f} {s['max']:>8.1f} "
              f"{s['p50'] / floor:>6.1f}x")
    print(f"== {result['backend']}: workflow throughput")
    for level in result["throughput"]:
        per_execution = level["seconds"] * 1000 / level["executions"]
        print(f"  concurrency {level['concurrency']:>2}: {level['executions']:>3} executions in "
              f"{level['seconds']:6.2f} s = {level['per_second']:6.1f}/s ({per_execution:.1f} ms each, "
              f"{per_execution / floor:.1f}x floor), succeeded {level['succeeded']}/{level['executions']}")


def available_backends() -> list[str]:
    """Every backend that can run here; each one left out is said, with why."""
    chosen = ["embedded"]
    if backends.docker_available():
        chosen.append("docker")
    else:
        print("docker: skipped (no engine answers `docker info`)")
    try:
        localstack_venv.find_python(Config.from_env().localstack_python)
        chosen.append("localstack")
    except localstack_venv.LocalStackSetupError as error:
        print(f"localstack: skipped ({error})")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["all", *BACKENDS], default="all",
                        help="all = embedded, docker when an engine answers, localstack when a Python 3.12+ is found")
    parser.add_argument("--runs", type=int, default=30, help="samples per latency case")
    parser.add_argument("--per-level", type=int, default=64,
                        help="executions per throughput level (at least 16 per concurrent client)")
    parser.add_argument("--out", type=Path, default=Config.from_env().reports_dir, help="folder for the JSON")
    args = parser.parse_args()
    chosen = available_backends() if args.backend == "all" else [args.backend]
    results = []
    for backend in chosen:
        result = bench_backend(backend, args.runs, args.per_level)
        print_backend(result)
        results.append(result)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.out / f"bench-{stamp}.json"
    path.write_text(json.dumps({"utc": stamp, "results": results}, indent=2) + "\n")
    print(f"\nfigures written to {path}")


if __name__ == "__main__":
    main()
