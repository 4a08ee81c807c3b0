#!/usr/bin/env bash
# BACKEND=aws without AWS: `make up`, `make test`, `make down` of the aws backend against a fresh,
# plain emulator standing in for the account (AWS_ENDPOINT_URL; scripts/standin-emulator.sh).
# Everything of the aws path runs (opt-in, per-run stack name, the pinned CDK CLI's deploy, the
# seed's transactional writer, the markers' skips, the stack's deletion) except the account itself.
# The tests: tests/integration, where the tests that need the mock API, faults or the emulator's
# internals are skipped with their reasons, as on AWS (docs/aws.md); the unit tests do not depend
# on the backend and run in `make test` before this.
# Needs: make venv, make cdk-cli. Port: AWS_STANDIN_PORT (4598).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${AWS_STANDIN_PORT:-4598}
# shellcheck source=scripts/standin-emulator.sh
source scripts/standin-emulator.sh
port_free "$port" AWS_STANDIN_PORT
logs=$(mktemp -d)
standin_pid=
state=$logs/state  # its own state folder: the run's record, assembly and locks, beside other stacks
stop() {
    local status=$?
    set +e
    if [[ -f $state/aws/stack.json ]]; then make down >/dev/null 2>&1; fi  # a run that failed half-way
    kill $standin_pid 2>/dev/null
    wait $standin_pid 2>/dev/null
    if ((status != 0)); then echo "failed (exit $status); last lines of the emulator's log:"; tail -n 30 "$logs/emulator.log"; fi
    rm -rf "$logs"
}
trap stop EXIT
start_standin_emulator "$port" "$logs"

export BACKEND=aws TESTBED_AWS_OPT_IN=1 TESTBED_STATE_DIR=$state TESTBED_AWS_REMOVAL_POLICY=destroy
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
# The test API: no test that runs here reaches it (those that call an API need the mock API's
# stubs and journal, and are skipped); port 9 (discard) refuses at once if one ever did.
export TESTBED_AWS_API_BASE_URL=http://127.0.0.1:9
export TESTBED_AWS_RUN_ID=standin-$$
# The Lambda's wheels: the build cache of this checkout's state folder, not a second download.
mkdir -p "$state" .testbed/build && ln -s "$PWD/.testbed/build" "$state/build"

# Once per account and region, by someone allowed to (docs/aws.md); here, on the fresh stand-in.
# (It runs cdk.json's app, `python3 app.py`: the venv's Python, with aws-cdk-lib, first on PATH.)
account=$(.venv/bin/python -c "from testbed import aws, config; print(aws.client('sts', aws.Target.of(config.Config.from_env())).get_caller_identity()['Account'])")
( cd infra && PATH=$(PATH=$PWD/../.venv/bin:$PATH ../.venv/bin/python -m testbed.deploy.nodejs node npx) \
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=1 \
    npx --no-install cdk bootstrap "aws://$account/$AWS_REGION" >"$logs/bootstrap.log" 2>&1 ) \
    || { cat "$logs/bootstrap.log"; exit 1; }
echo "cdk bootstrap: done"

make up
make test TEST_WORKERS=2 PYTEST_ARGS=tests/integration
make down
# `down` deleted the run's stack and forgot it: nothing of the run is left.
.venv/bin/python - <<'PY'
from testbed import aws
from testbed.config import Config
stacks = aws.client("cloudformation", aws.Target.of(Config.from_env())).describe_stacks()["Stacks"]
left = [s["StackName"] for s in stacks if s["StackName"].startswith("ApiTemplateTestbed") and s["StackStatus"] != "DELETE_COMPLETE"]
assert not left, f"make down left stacks: {left}"
print("make down: the run's stack is gone")
PY
