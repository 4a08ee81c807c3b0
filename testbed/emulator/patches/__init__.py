"""Fidelity and speed patches of MiniStack, applied by the launcher (testbed/emulator/__main__.py).

One module per patch; each docstring says what upstream does, what AWS does, and what the
patch changes. Each is small and refuses to apply when the upstream code it edits is not
there; tests/unit/test_emulator_patches.py pins the source hash of every patched function.
"""

from __future__ import annotations

from testbed.emulator.patches import (
    bytecode_cache,
    choice_rules,
    compound_states,
    content_types,
    dynamodb_task,
    error_names,
    evaluation_failed,
    execution_input,
    execution_start,
    fail_without_error,
    fast_shutdown,
    intrinsics,
    jsonpath_engine,
    jsonpath_required,
    lambda_invoke,
    lambda_isolation,
    log_drain,
    map_history,
    parallel_history,
    payload_limit,
    task_history,
    terminal_errors,
    test_state_retry,
    thread_reuse,
    wait_timestamps,
    worker_reuse,
    worker_updates,
)

# Source edits go before the wrappers of the same function: worker_reuse before error_names
# (Worker.invoke), thread_reuse before execution_input (_start_execution). The Step Functions
# fidelity seams (functions replaced or wrapped whole) come last, after any source edit; the
# Map and Parallel handlers are replaced before payload_limit wraps them.
PATCHES = (
    execution_start, thread_reuse, execution_input, test_state_retry, worker_reuse, error_names,
    worker_updates, fast_shutdown, lambda_isolation, log_drain, bytecode_cache, content_types,
    task_history, lambda_invoke, fail_without_error, map_history,
    compound_states, parallel_history, evaluation_failed, wait_timestamps, terminal_errors, jsonpath_engine,
    jsonpath_required, choice_rules, intrinsics, payload_limit, dynamodb_task,
)


def apply_all() -> list[str]:
    """Apply every patch (idempotent); return their names."""
    for patch in PATCHES:
        patch.apply()
    return [patch.NAME for patch in PATCHES]
