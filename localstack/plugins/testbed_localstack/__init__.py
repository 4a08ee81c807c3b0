"""LocalStack plugins that let LocalStack's PyPI runtime run this project offline, without Docker.

LocalStack finds plugins through entry points (plux): `localstack/plugins/entry_points.txt` names
them, and `testbed.stacks.localstack_venv` registers this folder in LocalStack's own venv as a
distribution with those entry points (what an editable install does, without a build backend).

- `dynamodb_moto`: DynamoDB served by moto (`PROVIDER_OVERRIDE_DYNAMODB=testbed_moto`); LocalStack's
  default provider downloads a JDK and DynamoDB Local at start.
- `lambda_executor`: Python Lambdas run as local processes (`LAMBDA_RUNTIME_EXECUTOR=testbed-local`);
  LocalStack's only executor runs them in Docker containers with a downloaded runtime-init binary.

These modules run in LocalStack's interpreter (Python 3.12+), not the harness's.
"""
