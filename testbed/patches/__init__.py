"""Fidelity and speed patches of MiniStack, applied by the launcher (testbed/emulator.py).

One module per patch; each docstring says what upstream does, what AWS does, and what the
patch changes. Each is small and refuses to apply when the upstream code it edits is not
there; tests/unit/test_emulator_patches.py pins the source hash of every patched function.
"""

from __future__ import annotations

from testbed.patches import (
    error_names,
    execution_input,
    execution_start,
    fast_shutdown,
    jsonpath_required,
    lambda_isolation,
    log_drain,
    test_state_retry,
    worker_reuse,
    worker_updates,
)

# worker_reuse edits Worker.invoke's source, so it goes before error_names wraps that method.
PATCHES = (
    execution_start, execution_input, jsonpath_required, test_state_retry, worker_reuse, error_names, worker_updates,
    fast_shutdown, lambda_isolation, log_drain,
)


def apply_all() -> list[str]:
    """Apply every patch (idempotent); return their names."""
    for patch in PATCHES:
        patch.apply()
    return [patch.NAME for patch in PATCHES]
