"""Run cases side by side on one endpoint; each case creates and cleans up its own resources."""

from __future__ import annotations

import queue
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from testbed import aws
from testbed.parity import compare, execute, normalise, resources
from testbed.parity.cases import Case
from testbed.parity.compare import Difference
from testbed.parity.names import Names

DEFAULT_WORKERS = 12
DEFAULT_TIMEOUT_SECONDS = 120.0  # the slowest recorded case retries for ~21 s


@dataclass(frozen=True)
class Clients:
    sfn: Any
    lambda_: Any
    dynamodb: Any


@dataclass
class CaseResult:
    id: str
    area: str
    differences: list[Difference] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def matched(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Target:
    aws: aws.Target
    account: str
    region: str
    run_token: str = field(default_factory=lambda: uuid.uuid4().hex[:6])


def target(where: aws.Target) -> Target:
    account = aws.client("sts", where).get_caller_identity()["Account"]
    return Target(aws=where, account=account, region=where.region)


def run_case(clients: Clients, case: Case, names: Names, timeout: float) -> list[Difference]:
    created = resources.Created()
    try:
        resources.check(case.resources)
        resources.create(clients, case.resources, names, created)
        seen = execute.run(clients.sfn, case, names, created, timeout)
        return compare.compare(case.expected, normalise.observed(seen, case, names), case.wildcards)
    except resources.Unsupported as error:
        return [Difference("unsupported", str(error))]
    except execute.Timeout as error:
        return [Difference("timeout", str(error))]
    except ClientError as error:  # the stack refused what AWS accepted (a definition, an input...)
        return [Difference("rejected", f"{error.operation_name}: {error}")]
    except Exception as error:  # one case's failure must not stop the others
        return [Difference("runner-error", repr(error))]
    finally:
        created.cleanup()


def run_all(cases: list[Case], where: Target, workers: int = DEFAULT_WORKERS,
            timeout: float = DEFAULT_TIMEOUT_SECONDS, progress: Callable[[int, int], None] | None = None,
            ) -> list[CaseResult]:
    """Every case's result, in the order of `cases`."""
    # boto3 clients are thread-safe but made from a shared session they are not: one set per worker.
    pool: queue.Queue[Clients] = queue.Queue()
    for _ in range(workers):
        pool.put(Clients(*(aws.client(s, where.aws) for s in ("stepfunctions", "lambda", "dynamodb"))))

    def one(index: int, case: Case) -> CaseResult:
        clients = pool.get()
        started = time.monotonic()
        try:
            names = Names(suffix=f"{where.run_token}{index:03x}", account=where.account, region=where.region)
            return CaseResult(case.id, case.area, run_case(clients, case, names, timeout), time.monotonic() - started)
        finally:
            pool.put(clients)

    results: dict[str, CaseResult] = {}
    with ThreadPoolExecutor(max_workers=workers) as executor:
        futures = [executor.submit(one, index, case) for index, case in enumerate(cases)]
        for done, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results[result.id] = result
            if progress:
                progress(done, len(cases))
    return [results[case.id] for case in cases]


def print_progress(done: int, total: int) -> None:
    if done % 50 == 0 or done == total:
        print(f"  {done}/{total} cases", file=sys.stderr, flush=True)
