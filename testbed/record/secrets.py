"""The values a recording must never hold: every secret the deployed templates may resolve, in
every form the Lambda's mask knows (generic_api_call.secrets.forms: the one home of that rule)."""

from __future__ import annotations

from generic_api_call import secret_store
from generic_api_call.errors import GenericApiCallError
from generic_api_call.secrets import MIN_SECRET_CHARS, forms
from generic_api_call.template import from_dynamodb_item
from testbed import aws, settings


def secret_names(target: aws.Target) -> set[str]:
    """The names in the `secrets` lists of the templates in the table (a broken item is skipped:
    the Lambda could not run it either)."""
    names: set[str] = set()
    paginator = aws.client("dynamodb", target).get_paginator("scan")
    for page in paginator.paginate(TableName=settings.TABLE_NAME, ConsistentRead=True):
        for item in page.get("Items", []):
            try:
                names.update(from_dynamodb_item(item).secrets)
            except GenericApiCallError:
                continue
    return names


def secret_values(target: aws.Target) -> tuple[list[str], list[str]]:
    """(the values the secret store resolves for those names, the names it could not resolve)."""
    resolve = secret_store.resolver(lambda service: aws.client(service, target))
    values, missing = [], []
    for name in sorted(secret_names(target)):
        try:
            values.append(resolve(name))
        except GenericApiCallError:
            missing.append(name)
    return values, missing


def every_form(values: list[str]) -> list[str]:
    """Each value in each form it may be sent or echoed in, longest first (what a scrub replaces)."""
    found = {form for value in values if len(value) >= MIN_SECRET_CHARS for form in forms(value)}
    return sorted((form for form in found if len(form) >= MIN_SECRET_CHARS), key=len, reverse=True)
