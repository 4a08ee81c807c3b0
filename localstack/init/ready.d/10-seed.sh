#!/bin/sh
# Seed the emulator as soon as it answers: table, templates, Lambda, state machine.
# MiniStack and LocalStack both run the scripts in /etc/localstack/init/ready.d once they
# are up, and report them in their readiness endpoints, which the Compose healthchecks
# read: `docker compose up --wait` returns only after this script has succeeded.
set -eu

home="${TESTBED_HOME:-/opt/testbed}"
python="${TESTBED_SEED_PYTHON:-/opt/seed/bin/python}"

if [ ! -x "$python" ]; then
    # LocalStack's image has no seed venv: build one next to its own Python (needs PyPI).
    python3 -m venv --system-site-packages /tmp/testbed-seed
    /tmp/testbed-seed/bin/pip install --quiet --no-cache-dir \
        -r "$home/localstack/requirements-seed.txt"
    python=/tmp/testbed-seed/bin/python
fi

cd "$home"
exec env PYTHONPATH="$home:$home/lambdas/generic_api_call" "$python" -m testbed seed \
    --endpoint "${AWS_ENDPOINT_URL:-http://localhost:4566}" \
    --api-base-url "${TESTBED_API_BASE_URL:-http://mockapi:8080}" "$@"
