"""Fetch what a timeline is built from: the execution, its Lambda log lines, its HTTP exchanges.

Everything is joined by the execution's id, never by time: a Lambda invocation belongs to the
execution when its record line (the one JSON line the Lambda logs per invocation) has the
execution ARN as `executionId` or its trace id as `traceId`, and a mock API journal entry when its
`traceparent` carries the trace id. Not when the id merely appears in a line: the record's URL
holds params, so a caller could otherwise put its invocation into another execution's timeline.

The secrets to mask are the template's (named by the execution's input, read from the table
now), resolved through the Lambda's own secret store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from generic_api_call import secret_store
from generic_api_call.errors import GenericApiCallError
from generic_api_call.template import from_dynamodb_item
from generic_api_call.trace import trace_id_for
from testbed import settings
from testbed.runs import masking, stored_json
from testbed.runs.masking import Masker
from testbed.runs.timeline import Timeline, build

LOG_GROUP = settings.LOG_GROUP_NAME
_START = re.compile(r"^START RequestId: (\S+)")


class ExecutionNotFound(LookupError):
    """No execution with that name or ARN."""


def execution_arn(state_machine_arn: str, name_or_arn: str) -> str:
    """An execution ARN from a name (of an execution of `state_machine_arn`) or an ARN."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name_or_arn}"


def timeline(sfn: Any, logs: Any | None, mockapi_url: str | None, arn: str,
             clients: Callable[[str], Any] | None = None) -> Timeline:
    """`clients(service)`: boto3 clients of the stack, to read the template and its secrets
    (without: masking by names only, and the timeline says so)."""
    try:
        described = sfn.describe_execution(executionArn=arn)
    except sfn.exceptions.ExecutionDoesNotExist as exc:
        raise ExecutionNotFound(f"no execution {arn!r}; list them with `testbed executions`") from exc
    trace_id = trace_id_for(arn)
    history = history_of(sfn, arn)
    log_events = lambda_log_events(logs, arn, trace_id) if logs is not None else None
    journal = journal_entries(mockapi_url, trace_id) if mockapi_url else None
    masker = masker_for(clients, described.get("input")) if clients is not None else None
    return build(described, history, trace_id, log_events, journal, masker)


def masker_for(clients: Callable[[str], Any], execution_input: str | None) -> Masker:
    """The template's secrets, as the Lambda resolves them; what fails is said in the masker's note."""
    parsed = stored_json.parse(execution_input, "the execution's input").value
    name, method = (parsed.get("templateName"), parsed.get("method")) if isinstance(parsed, dict) else (None, None)
    if not isinstance(name, str) or not isinstance(method, str) or not name or not method:
        return masking.by_names("the execution's input names no template and method")
    try:
        item = clients("dynamodb").get_item(
            TableName=settings.TABLE_NAME, Key={"PK": {"S": name}, "SK": {"S": method}}, ConsistentRead=True,
        ).get("Item")
    except (ClientError, BotoCoreError) as exc:
        return masking.by_names(f"the table could not be read: {type(exc).__name__}")
    if item is None:
        return masking.by_names(f"template {name!r} {method!r} is no longer in the table")
    try:
        template = from_dynamodb_item(item)
    except GenericApiCallError as exc:
        return masking.by_names(f"template {name!r} {method!r} does not load: {exc}")
    if not template.secrets:
        return Masker()
    return masking.resolved(template.name, template.secrets, secret_store.resolver(clients))


def history_of(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events.extend(page["events"])
    return events


def lambda_log_events(logs: Any, arn: str, trace_id: str) -> list[dict[str, Any]] | None:
    """The log lines of every invocation (START..REPORT) in which the Lambda logged the ids."""
    try:
        matches = _filter(logs, f'"{trace_id}"') + _filter(logs, f'"{arn}"')
    except logs.exceptions.ResourceNotFoundException:
        return []  # the Lambda never ran yet
    streams = {event["logStreamName"] for event in matches}
    lines: list[dict[str, Any]] = []
    for stream in sorted(streams):
        events = _stream(logs, stream)
        lines.extend(_invocations_with(events, (trace_id, arn)))
    return lines


def _filter(logs: Any, pattern: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=LOG_GROUP, filterPattern=pattern):
        events.extend(page["events"])
    return events


def _stream(logs: Any, stream: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        events.extend({**event, "logStreamName": stream} for event in page["events"])
        if not page["events"] or page.get("nextForwardToken") in (None, token):
            return events
        token = page["nextForwardToken"]


def _invocations_with(events: list[dict[str, Any]], ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """The invocations (START RequestId .. REPORT RequestId) of a stream whose record names an id.

    On AWS a stream holds many invocations of one worker; on MiniStack one. Lines outside any
    START..REPORT block (init output) are kept only if they are such a record themselves.
    """
    blocks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] | None = None
    for event in events:
        message = event["message"]
        if _START.match(message):
            current = []
            blocks.append(current)
        if current is None:
            blocks.append([event])
        else:
            current.append(event)
            if message.startswith("REPORT RequestId:"):
                current = None
    selected: list[dict[str, Any]] = []
    for block in blocks:
        if any(_record_of(event["message"], ids) for event in block):
            selected.extend(block)
    return selected


def _record_of(message: str, ids: tuple[str, ...]) -> bool:
    """Whether `message` is the Lambda's record line (`<level, logger or request id> {json}`)
    of an invocation for one of `ids` (the execution ARN, its trace id)."""
    start = message.find("{")
    if start < 0 or not any(i in message for i in ids):  # the cheap test first: most lines are not
        return False
    try:
        record = json.loads(message[start:])
    except (ValueError, RecursionError):
        return False
    return isinstance(record, dict) and (record.get("executionId") in ids or record.get("traceId") in ids)


def journal_entries(mockapi_url: str, trace_id: str) -> list[dict[str, Any]] | None:
    """The mock API's journal entries with this trace id; None when the mock API does not answer."""
    try:
        response = requests.get(f"{mockapi_url.rstrip('/')}/__admin/requests", params={"traceId": trace_id}, timeout=5)
        response.raise_for_status()
    except requests.RequestException:
        return None
    try:
        parsed = response.json()
    except (ValueError, RecursionError):  # not the mock API, or a request's parsed body nested too deep
        return None
    entries = parsed.get("requests", []) if isinstance(parsed, dict) else []
    return [entry for entry in entries if isinstance(entry, dict) and entry.get("traceId") == trace_id]


def recent(sfn: Any, state_machine_arn: str, limit: int) -> list[dict[str, Any]]:
    """The newest executions, each with name, status, start, duration (ms) and template."""
    listed = sfn.list_executions(stateMachineArn=state_machine_arn, maxResults=limit)["executions"]
    rows: list[dict[str, Any]] = []
    for item in listed[:limit]:
        rows.append(row(sfn.describe_execution(executionArn=item["executionArn"])))
    return rows


def row(described: dict[str, Any]) -> dict[str, Any]:
    """One line of the list: name, ARN, status, start, duration (ms), template (pure)."""
    stop = described.get("stopDate")
    start = described["startDate"]
    return {
        "name": described.get("name") or described["executionArn"].rsplit(":", 1)[-1],
        "arn": described["executionArn"],
        "status": described["status"],
        "startedAt": start.isoformat(),
        "durationMs": round((stop - start).total_seconds() * 1000) if stop else None,
        "template": _template(described.get("input")),
    }


def _template(raw: str | None) -> str | None:
    parsed = stored_json.parse(raw, "the input")
    if parsed.note:
        return "? (input nested too deep to read)"
    data = parsed.value
    if isinstance(data, dict) and "templateName" in data:
        return f"{data.get('templateName')} {data.get('method', '')}".strip()
    return None
