"""DynamoDB served by moto inside LocalStack: `PROVIDER_OVERRIDE_DYNAMODB=testbed_moto`.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, which it downloads (with a JDK) at
start; offline that fails. LocalStack already ships moto, and its `MotoFallbackDispatcher` sends
every operation a provider does not implement to moto: a provider that implements none is moto's
DynamoDB behind LocalStack's gateway, so CloudFormation, Step Functions' `dynamodb:getItem`
integration and clients all reach it as they would the default provider.
"""

from __future__ import annotations

from localstack.aws.api.dynamodb import DynamodbApi
from localstack.services.plugins import Service, aws_provider


class MotoDynamoDBProvider(DynamodbApi):
    """No operation of its own: each falls through to moto."""


@aws_provider(api="dynamodb", name="testbed_moto")
def dynamodb_moto() -> Service:
    from localstack.services.moto import MotoFallbackDispatcher

    return Service.for_provider(MotoDynamoDBProvider(), dispatch_table_factory=MotoFallbackDispatcher)
