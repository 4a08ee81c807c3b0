"""Lambda entry point: `generic_api_call.handler.lambda_handler`.

Input:  {"template": <DynamoDB item in attribute-value form>, "params": {...}}
Output: {"statusCode", "headers", "body", "contentType", "elapsedMs"} (+ "truncated")
Errors: the exception classes in errors.py; their names are the Step Functions `Error`.

Environment: API_BASE_URL (the templates' {{ base_url }}), ALLOWED_HOSTS (where requests
may go, see destinations.py), LOG_LEVEL.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

from . import destinations, redact, secret_store
from .errors import GenericApiCallError, InvalidTemplate, RenderError
from .http_call import CallPolicy, send
from .render import render_request
from .template import from_dynamodb_item

logger = logging.getLogger("generic_api_call")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
if not logging.getLogger().handlers:  # AWS's runtime installs a handler; local runners may not
    logging.basicConfig(format="%(levelname)s %(name)s %(message)s")

# Time kept back from the Lambda's own timeout so the function reports UpstreamTimeout
# itself instead of being killed by the runtime.
SAFETY_MARGIN_SECONDS = 2.0


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or "template" not in event:
        raise InvalidTemplate("event must be a map with 'template' (the DynamoDB item) and 'params'")
    template = from_dynamodb_item(event["template"])
    params = event.get("params") or {}
    if not isinstance(params, dict):
        raise RenderError(f"params must be a map, got {type(params).__name__}")
    secret_forms: list[str] = []
    try:
        request = render_request(template, params, os.environ.get("API_BASE_URL", ""), secret_store.resolver())
        secret_forms = redact.forms(request.secret_values)
        timeout = min(template.timeout_seconds, _remaining_seconds(context) - SAFETY_MARGIN_SECONDS)
        policy = CallPolicy(
            timeout_seconds=max(timeout, 0.1),
            allow=destinations.allowed_hosts_from_env(),
            idempotent=template.idempotent,
            follow_redirects=template.follow_redirects,
        )
        result = redact.data(send(request, policy), secret_forms)
    except GenericApiCallError as exc:
        exc.args = (redact.text(str(exc), secret_forms),)  # the message becomes the Cause
        raise
    # Names and numbers only: params, headers and bodies may carry secrets.
    logger.info(json.dumps({
        "template": template.name,
        "method": template.method,
        "statusCode": result["statusCode"],
        "elapsedMs": result["elapsedMs"],
        "truncated": result.get("truncated", False),
    }))
    return result


def _remaining_seconds(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else 30.0
