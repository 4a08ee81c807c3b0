#!/usr/bin/env bash
# The AWS path, exercised without AWS: the pinned CDK CLI (infra/package.json) runs
# `cdk bootstrap` and `cdk deploy` against a fresh embedded emulator (AWS_ENDPOINT_URL),
# exactly as a user runs them against an account; then the templates are loaded and one
# execution goes through the deployed stack to the mock API.
# Needs: make venv, make cdk-cli (Node.js: the machine's, else the one `make venv` installed).
# Ports: CDK_SMOKE_EMULATOR_PORT (4599), CDK_SMOKE_MOCKAPI_PORT (8099).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
port=${CDK_SMOKE_EMULATOR_PORT:-4599}
mock_port=${CDK_SMOKE_MOCKAPI_PORT:-8099}
endpoint=http://127.0.0.1:$port
# shellcheck source=scripts/standin-emulator.sh
source scripts/standin-emulator.sh
port_free "$port" CDK_SMOKE_EMULATOR_PORT
port_free "$mock_port" CDK_SMOKE_MOCKAPI_PORT
logs=$(mktemp -d)

standin_pid=
.venv/bin/python -m mockapi --host 127.0.0.1 --port "$mock_port" --stubs mockapi/stubs.yaml >"$logs/mockapi.log" 2>&1 &
mockapi_pid=$!
stop() {
    local status=$?
    set +e  # clean up whatever failed: stop the services first, then report
    kill $standin_pid "$mockapi_pid" 2>/dev/null
    wait $standin_pid "$mockapi_pid" 2>/dev/null
    if ((status != 0)); then echo "failed (exit $status); last lines of the services' logs:"; tail -n 30 "$logs"/*.log; fi
    rm -rf "$logs"
}
trap stop EXIT

start_standin_emulator "$port" "$logs"
wait_http "http://127.0.0.1:$mock_port/__admin/health"

export AWS_ENDPOINT_URL=$endpoint AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export PATH=$root/.venv/bin:$PATH  # cdk.json's "python3 app.py" must find aws-cdk-lib
# node and npx: the machine's, else the venv's (testbed/deploy/nodejs.py)
PATH=$(python -m testbed.deploy.nodejs node npx)
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DISABLE_CLI_TELEMETRY=1
account=$(python -c "from testbed import aws, config; print(aws.client('sts', aws.Target.of(config.Config.from_env())).get_caller_identity()['Account'])")

cd infra
npx --no-install cdk --version
npx --no-install cdk bootstrap "aws://$account/us-east-1"
npx --no-install cdk deploy --require-approval never -c removalPolicy=destroy \
    --parameters "ApiBaseUrl=http://127.0.0.1:$mock_port" --parameters "AllowedHosts=127.0.0.1:$mock_port"
cd "$root"

python - <<'PY'
from testbed import aws, settings
from testbed.config import Config
stack = aws.client("cloudformation", aws.Target.of(Config.from_env())).describe_stacks(StackName=settings.STACK_NAME)["Stacks"][0]
print(f"describe-stacks: {stack['StackName']} {stack['StackStatus']}")
assert stack["StackStatus"] == "CREATE_COMPLETE", stack["StackStatus"]
PY
python -m testbed seed --templates-only --endpoint "$endpoint" --api-base-url "http://127.0.0.1:$mock_port"
python -m testbed run get_user GET --params '{"user_id": "cdk-cli"}' --endpoint "$endpoint" --mockapi "http://127.0.0.1:$mock_port"
