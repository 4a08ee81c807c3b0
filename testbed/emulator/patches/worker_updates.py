"""A Lambda update lets in-flight invocations finish, as on AWS.

Upstream (`ministack.core.lambda_runtime.invalidate_worker`, MiniStack 1.5.33), an update
of a function's code or configuration kills every warm worker of the function at once,
including those serving an invocation: with 10 executions running, 9-10 failed
(`Worker process exited immediately` / `Worker process died`, which no Retry names).
On AWS, invocations in progress finish on the old version; new ones get the new one.

Patched: invalidation still drops the function's workers from the pool (the next
invocation starts a worker with the new code), but a worker that is leased to an
invocation is only marked retired; `release_worker` stops it when that invocation ends.
Both run under the pool's lock, so a worker is either stopped idle or retired in use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

NAME = "worker-updates"
UPSTREAM = {
    "ministack.core.lambda_runtime.invalidate_worker":
        "1be5d7f769f5c6086d18043c5cc342193ff87299c41a9d40078ccd1c1acd9eec",
    "ministack.core.lambda_runtime.release_worker":
        "25d5dd7d42b6e30ce6843a33cf159b418d185f46bfa0a76a64268ea83e203cdc",
    "ministack.core.lambda_runtime.kill_workers":
        "56a6df63f9bd485916cffa3c374db7410afa2aff70fb5668372e054c0b0b1836",
}
RETIRED = "_testbed_retired"


def apply() -> None:
    from ministack.core import lambda_runtime
    from ministack.services import lambda_svc

    if getattr(lambda_runtime.invalidate_worker, "__testbed_patch__", None) == NAME:
        return
    invalidate = _deferring_invalidate(lambda_runtime, lambda_runtime.invalidate_worker)
    release = _stopping_release(lambda_runtime, lambda_runtime.release_worker)
    # lambda_svc imported both names: rebind them there too.
    for module in (lambda_runtime, lambda_svc):
        module.invalidate_worker = invalidate
        module.release_worker = release


def worker_key_matches(key: str, func_name: str, qualifier: str | None,
                       account: str | None, region: str | None) -> bool:
    """Upstream's key test, unchanged: keys are "account:region:function:qualifier"."""
    parts = key.split(":")
    if len(parts) == 4:
        k_account, k_region, k_func, k_qualifier = parts
    elif len(parts) == 3:
        k_account, k_func, k_qualifier = parts
        k_region = None
    else:
        return False
    return (k_func == func_name
            and (account is None or k_account == account)
            and (region is None or k_region is None or k_region == region)
            and (qualifier is None or k_qualifier == qualifier))


def _deferring_invalidate(runtime: Any, original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def invalidate_worker(func_name: str, qualifier: str | None = None,
                          account: str | None = None, region: str | None = None) -> None:
        with runtime._lock:
            keys = [k for k in runtime._workers if worker_key_matches(k, func_name, qualifier, account, region)]
            removed = [worker for key in keys for worker in runtime._workers.pop(key, [])]
            idle = [worker for worker in removed if not worker.in_use]
            for worker in removed:
                if worker.in_use:
                    setattr(worker, RETIRED, True)  # release_worker stops it
        runtime.kill_workers(idle)  # outside the lock, as upstream

    invalidate_worker.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return invalidate_worker


def _stopping_release(runtime: Any, original: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(original)
    def release_worker(worker: Any) -> None:
        original(worker)
        if worker is not None and getattr(worker, RETIRED, False):
            runtime.kill_workers([worker])

    release_worker.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return release_worker
