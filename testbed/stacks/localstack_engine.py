"""LocalStack's settings as this project runs it: one home for the local process and the image.

The `localstack` backend (stacks/localstack_stack.py) starts LocalStack's runtime with these
variables; the LocalStack image of docker-compose.localstack.yml (localstack/Dockerfile, stage
`localstack-engine`) writes them at build time with `python -m testbed.stacks.localstack_engine`
and reads them when it starts (run there by the seed's venv: few of the harness's packages).
"""

from __future__ import annotations

import sys
from pathlib import Path

from testbed.emulator.patches.lambda_isolation import RUNTIME_PACKAGES

# The services the CDK stack and the harness use; LocalStack loads each on its first request.
SERVICES = ("cloudformation", "s3", "ssm", "dynamodb", "lambda", "stepfunctions", "iam", "sts", "logs")
# LocalStack's settings for an offline process (docs/localstack.md says why each).
OFFLINE_SETTINGS = {
    "GATEWAY_SERVER": "hypercorn",  # the default server binds 0.0.0.0 whatever GATEWAY_LISTEN says
    "DNS_ADDRESS": "0",  # no DNS server (it would want port 53)
    "SKIP_SSL_CERT_DOWNLOAD": "1",  # a self-signed certificate, no download
    "DISABLE_EVENTS": "1",  # no analytics
    "PROVIDER_OVERRIDE_DYNAMODB": "testbed_moto",  # localstack/plugins: moto, not a downloaded DynamoDB Local
    "LAMBDA_RUNTIME_EXECUTOR": "testbed-local",  # localstack/plugins: local processes, not Docker
}
# In the image: every interface (Compose publishes the port), LocalStack's default port.
IMAGE_LISTEN = "0.0.0.0:4566"


def engine_env(listen: str, mock_config: Path) -> dict[str, str]:
    """The variables LocalStack runs with, here or in the image; `listen` is host:port."""
    return {
        **OFFLINE_SETTINGS,
        "GATEWAY_LISTEN": listen,
        "SERVICES": ",".join(SERVICES),
        "SFN_MOCK_CONFIG": str(mock_config),
        "TESTBED_LAMBDA_RUNTIME_PACKAGES": ",".join(RUNTIME_PACKAGES),
    }


def main(argv: list[str]) -> int:
    """`python -m testbed.stacks.localstack_engine MOCK_CONFIG`: the image's variables, one KEY=value a line."""
    if len(argv) != 1:
        print("usage: python -m testbed.stacks.localstack_engine <path of the SFN mock config in the image>",
              file=sys.stderr)
        return 2
    for key, value in engine_env(IMAGE_LISTEN, Path(argv[0])).items():
        print(f"{key}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
