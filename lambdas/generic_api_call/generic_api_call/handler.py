"""Lambda entry point: `generic_api_call.handler.lambda_handler`; dry runs: `prepare_request`.

Input:  {"template": <DynamoDB item in attribute-value form>, "params": {...},
         "executionId": <optional, $$.Execution.Id>}  (other keys are ignored)
Output: {"statusCode", "headers", "body", "contentType", "elapsedMs"} (+ "truncated")
Errors: the exception classes in errors.py; their names are the Step Functions `Error`.

The handler composes two siblings: `prepare_request` (parse, render in the sandbox, resolve
secrets, check the destination) and `http_call.send`. Whatever leaves (result, error
message, log line) has its secrets masked first, then is cut (secrets.Secrets).

Environment, read once per invocation here and passed down: API_BASE_URL (the templates'
{{ base_url }}), ALLOWED_HOSTS (where requests may go, see destinations.py), LOG_LEVEL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import destinations, log_masking, secret_store, trace
from .errors import GenericApiCallError, InvalidTemplate, RenderError
from .http_call import CallPolicy, send
from .limits import MAX_MESSAGE_CHARS
from .render import check_syntax, render_request
from .request import Request
from .secrets import Resolver, Secrets
from .template import Template, from_dynamodb_item

logger = logging.getLogger("generic_api_call")
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))
if not logging.getLogger().handlers:  # AWS's runtime installs a handler; local runners may not
    logging.basicConfig(format="%(levelname)s %(name)s %(message)s")
# At DEBUG, libraries log what must not leave: urllib3 the request line (path and query, which
# may hold secrets), botocore every response body (the secret values it fetched). The
# function's log level (the runtime sets it on the root logger) must not turn them on.
for _library in ("urllib3", "botocore", "boto3", "requests"):
    logging.getLogger(_library).setLevel(max(logging.WARNING, logging.getLogger(_library).level))
# And what they log at WARNING may hold a URL with a secret: every record is masked (log_masking.py).
log_masking.install()

# Time kept back from the Lambda's own timeout so the function reports UpstreamTimeout
# itself instead of being killed by the runtime.
SAFETY_MARGIN_SECONDS = 2.0


@dataclass(frozen=True)
class PreparedRequest:
    """What the Lambda would send, and where: the rendered Request and its checked destination."""

    template: Template
    request: Request
    target: destinations.Target | None  # resolved and checked: the connection goes to target.address

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def url(self) -> str:
        return self.request.url

    @property
    def headers(self) -> dict[str, str]:
        return self.request.headers

    @property
    def body(self) -> str | None:
        return self.request.body

    def masked(self) -> dict[str, Any]:
        """method, url, headers, body with every secret value masked, and the checked address."""
        return {**self.request.masked(), "address": None if self.target is None else self.target.address}


def prepare_request(
    template: Template | Mapping[str, Any],
    params: Any,
    *,
    base_url: str,
    allowed_hosts: destinations.AllowList,
    resolve_secret: Resolver | None = None,
    execution_id: str | None = None,
    resolve: bool = True,
    secrets: Secrets | None = None,
) -> PreparedRequest:
    """Everything the Lambda does before sending, without sending: the dry run's code path.

    - `template`: a DynamoDB item in attribute-value form (as the state machine passes it)
      or a parsed Template (e.g. `template.from_plain` of a seed file's data, with PK/SK);
    - `params`: the execution's params (a map);
    - `base_url`: the templates' {{ base_url }}; `allowed_hosts`: `destinations.AllowList.parse(...)`;
    - `resolve_secret(name) -> value`: e.g. `secret_store.resolver()`; None refuses secret();
    - `execution_id`: the Step Functions execution ARN: adds a W3C `traceparent` header
      (trace id = trace.trace_id_for(execution_id)) unless the template sets
      `propagateTrace: false`; the trace headers are always the Lambda's own (a template
      may not set them: from_plain refuses them);
    - `resolve=False` (a dry run away from the deployment's network): the destination check
      stops after the static part (origin, allow-list, refused IP literals), no DNS lookup,
      and `target` is None. The Lambda always resolves.
    Raises InvalidTemplate, RenderError, SecretNotAllowed, DestinationRefused (or
    UpstreamConnectionError when the host does not resolve), messages already masked.
    """
    parsed = template if isinstance(template, Template) else from_dynamodb_item(template)
    if secrets is None:
        secrets = Secrets(parsed.name, parsed.secrets, resolve_secret)
    try:
        if not isinstance(params, Mapping):
            raise RenderError(f"params must be a map, got {type(params).__name__}")
        check_syntax(parsed)  # the validation the seed runs: the table may hold an item it never saw
        request = render_request(parsed, params, base_url, secrets=secrets)
        request = _with_own_trace(request, execution_id if parsed.propagate_trace else None)
        if resolve:
            target: destinations.Target | None = destinations.check_url(request.url, allowed_hosts)
        else:
            destinations.check_origin(destinations.origin_of(request.url), allowed_hosts)
            target = None
    except GenericApiCallError as exc:
        _mask_exception(exc, secrets)
        raise
    return PreparedRequest(parsed, request, target)


def _with_own_trace(request: Request, execution_id: str | None) -> Request:
    """The request with the Lambda's trace headers only: those of the execution, or none.

    A Template built without from_plain (which refuses them) could still carry its own."""
    headers = {name: value for name, value in request.headers.items() if name.lower() not in trace.TRACE_HEADERS}
    if execution_id:
        headers[trace.TRACEPARENT] = trace.traceparent(trace.trace_id_for(execution_id), trace.new_parent_id())
    if headers == request.headers:
        return request
    return Request(request.method, request.url, headers, request.body, request.secrets)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        return _invoke(event, context, stack)


def _invoke(event: dict[str, Any], context: Any, stack: contextlib.ExitStack) -> dict[str, Any]:
    """The invocation; `stack` keeps its secrets masking every log record until the handler returns."""
    started = time.monotonic()
    secrets = Secrets.none()
    record: dict[str, Any] = {}
    try:
        if not isinstance(event, dict) or "template" not in event:
            raise InvalidTemplate("event must be a map with 'template' (the DynamoDB item) and 'params'")
        execution_id = event.get("executionId") if isinstance(event.get("executionId"), str) else None
        record["executionId"] = execution_id
        if execution_id:
            record["traceId"] = trace.trace_id_for(execution_id)
        template = from_dynamodb_item(event["template"])
        record |= {"template": template.name, "method": template.method}
        secrets = Secrets(template.name, template.secrets, secret_store.resolver())
        stack.enter_context(log_masking.active(secrets))
        allowed = destinations.allowed_hosts_from_env()
        prepared = prepare_request(
            template, event.get("params") or {},
            base_url=os.environ.get("API_BASE_URL", ""),
            allowed_hosts=allowed,
            execution_id=execution_id,
            secrets=secrets,
        )
        record |= {"url": secrets.mask(prepared.url), "traceparent": prepared.request.header(trace.TRACEPARENT)}
        timeout = min(template.timeout_seconds, _remaining_seconds(context) - SAFETY_MARGIN_SECONDS)
        policy = CallPolicy(
            timeout_seconds=max(timeout, 0.1),
            allow=allowed,
            idempotent=template.idempotent,
            follow_redirects=template.follow_redirects,
        )
        result = send(prepared.request, policy, prepared.target)
        record |= {"statusCode": result["statusCode"], "truncated": result.get("truncated", False)}
        return result
    except Exception as exc:
        # The message becomes the Cause: secrets masked first, then cut (never the reverse).
        _mask_exception(exc, secrets)
        record["error"] = type(exc).__name__
        raise
    finally:
        # Names and numbers only (the URL masked): params, headers and bodies may carry secrets.
        record["elapsedMs"] = round((time.monotonic() - started) * 1000)
        logger.info(json.dumps(record, ensure_ascii=False))


def _mask_exception(exc: BaseException, secrets: Secrets) -> None:
    """Mask, then cap, the message; drop the chained exceptions, whose text may hold a value."""
    exc.args = (secrets.cut(str(exc), MAX_MESSAGE_CHARS),)
    exc.__cause__ = None
    exc.__suppress_context__ = True


def _remaining_seconds(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else 30.0
