#!/usr/bin/env bash
# The job summary's lines from a `make test` log: pytest's counts and the state-machine coverage.
# Usage: summary.sh LOG TITLE  (GitHub appends what it prints to $GITHUB_STEP_SUMMARY)
set -euo pipefail
log=$1 title=$2
printf '### %s\n\n' "$title"
if [[ ! -s $log ]]; then
    echo "- no test log: the run stopped before the tests (see the job's steps)"
    exit 0
fi
# pytest's closing line, e.g. "===== 180 passed, 2 skipped in 61.20s (0:01:01) =====".
counts=$(grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$log" | tail -n 1 \
    | sed -E 's/^=+ *//; s/ *=+$//') || true
echo "- tests: ${counts:-no closing line from pytest (see the log)}"
# testbed/coverage's line, printed when integration tests ran.
coverage=$(grep -E '^transitions covered ' "$log" | tail -n 1) || true
echo "- state-machine coverage: ${coverage:-none (no integration test ran in this job)}"
