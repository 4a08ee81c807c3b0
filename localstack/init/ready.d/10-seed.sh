#!/bin/sh
# Deploy the stack and load the templates as soon as the emulator answers.
# The image holds the synthesized CDK app (cdk.out, built by localstack/Dockerfile's synth
# stage); `testbed seed --assembly` publishes its assets and creates or updates the stack
# through the emulator's CloudFormation, then writes the templates. MiniStack and LocalStack
# both run the scripts in /etc/localstack/init/ready.d once they are up, and report them in
# their readiness endpoints, which the Compose healthchecks read: `docker compose up --wait`
# returns only after this script has succeeded.
set -eu

home="${TESTBED_HOME:-/opt/testbed}"
python="${TESTBED_SEED_PYTHON:-/opt/seed/bin/python}"
# The assembly: TESTBED_ASSEMBLY, else the image's own (MiniStack's image: $home/cdk.out; the
# LocalStack image, whose $home may be the mounted checkout: /opt/cdk.out), else one synthesized
# on the host into the mounted checkout (`testbed synth --emulator`, for LocalStack's official image).
assembly="${TESTBED_ASSEMBLY:-}"
if [ -z "$assembly" ]; then
    for candidate in "$home/cdk.out" /opt/cdk.out "$home/.testbed/cdk.out"; do
        if [ -d "$candidate" ]; then assembly=$candidate; break; fi
    done
fi

if [ ! -x "$python" ]; then
    # LocalStack's image has no seed venv: build one next to its own Python (needs PyPI).
    python3 -m venv --system-site-packages /tmp/testbed-seed
    /tmp/testbed-seed/bin/pip install --quiet --no-cache-dir \
        -r "$home/localstack/requirements-seed.txt"
    python=/tmp/testbed-seed/bin/python
fi

# Run by the emulator at start (no arguments): keep the report, so that the `testbed up` (or test
# session) that waited for this seed reads it instead of seeding a second time (DockerStack.seed,
# SEED_REPORT).
if [ "$#" -eq 0 ]; then
    set -- --report-file /tmp/testbed-seed-report.json
fi

cd "$home"
exec env PYTHONPATH="$home:$home/infra:$home/lambdas/generic_api_call" "$python" -m testbed seed \
    --assembly "$assembly" \
    --endpoint "${AWS_ENDPOINT_URL:-http://localhost:4566}" \
    --api-base-url "${TESTBED_API_BASE_URL:-http://mockapi:8080}" "$@"
