"""Snapshot tests of whole executions (localstack-snapshot; docs/testing.md#snapshot-tests).

A test calls `match_execution(snapshot, testbed, result)`: the execution becomes one dict (event
types in order, states entered, output or error and cause, and the HTTP exchange the mock API
journaled for it) and is compared with the test's entry in `<test module>.snapshot.json`.

What varies from run to run, or between the embedded and the docker backend, or between this
emulator and AWS, is replaced by a placeholder before recording and before comparing: the mock
API's address (`127.0.0.1:<port>`, `mockapi:8080`, an AWS URL), ARNs' region and account, the
execution name, the trace id, the ids `support.unique` makes, dates and durations. Nothing in
a snapshot file names the emulator, so the same file can be checked against AWS.
"""

from __future__ import annotations

import fcntl
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from localstack_snapshot.pytest.snapshot import package_scoped_nodeid
from localstack_snapshot.snapshots import SnapshotSession
from localstack_snapshot.snapshots.transformer import (
    KeyValueBasedTransformer,
    RegexTransformer,
    TextTransformer,
    TimestampTransformer,
    TransformContext,
)

from generic_api_call.secrets import MASK
from generic_api_call.trace import trace_id_for
from testbed.runs import masking
from testbed.runs.executions import ExecutionResult
from tests.support import UNIQUE_ID, Testbed

# Request headers the HTTP client and the network choose, not the template: left out of the
# exchange (the client's version, a proxy on AWS, the address would only add noise).
TRANSPORT_HEADERS = frozenset({"host", "connection", "accept-encoding", "user-agent", "content-length"})
# Keys whose values change on every run: replaced wherever they appear (outputs echo them).
VOLATILE_KEYS = {"Date": "<http-date>", "Content-Length": "<content-length>", "Server": "<server>",
                 "elapsedMs": "<duration-ms>",
                 # A Lambda error's Cause (AWS's runtime JSON): the invocation's id, and a stack whose
                 # paths and line numbers follow the code, not the behaviour.
                 "requestId": "<request-id>", "stackTrace": "<stack-trace>"}
_PARENT_ID = re.compile(r"(00-<trace-id>-)[0-9a-f]{16}(-0[01])")
_ARN_REGION_ACCOUNT = re.compile(r"\b(arn:aws[a-z-]*:[a-z0-9-]+):[a-z0-9-]*:\d{12}:")
_CLIENT_VERSION = re.compile(r"\bpython-requests/[0-9.]+")


class ExecutionSnapshot(SnapshotSession):
    """A SnapshotSession whose writes are safe under pytest-xdist (one lock on the file) and
    that writes only what it transformed: the library would record a test that failed before
    its comparison untransformed, ports and all."""

    _compared = False
    unobserved: tuple[str, ...] = ()  # paths a run cannot observe (BACKEND=aws: the API's side)

    def _assert_all(self, verify_test_case: bool = True, skip_verification_paths: list[str] | None = None) -> Any:
        paths = [*(skip_verification_paths or []), *self.unobserved]
        results = super()._assert_all(verify_test_case, paths or None)
        self._compared = True
        return results

    def _persist_state(self) -> None:
        if not (self.update and self._compared):
            return
        with open(self.file_path, "a") as lock:  # the library reads and rewrites the whole file
            fcntl.flock(lock, fcntl.LOCK_EX)
            super()._persist_state()


def scope_key(item: pytest.Item) -> str:
    """The test's node id without its backend: every backend is checked against one entry."""
    node_id = package_scoped_nodeid(item)
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("stack") if callspec is not None else None
    name, bracket, ids = node_id.partition("[")
    if backend is None or not bracket:
        return node_id
    parts = ids.removesuffix("]").split("-")
    if backend in parts:
        parts.remove(backend)
    return f"{name}[{'-'.join(parts)}]" if parts else name


def session(request: pytest.FixtureRequest) -> ExecutionSnapshot:
    """The `snapshot` fixture's session (tests/conftest.py), options from the plugin's flags."""
    option = request.config.option
    return ExecutionSnapshot(
        base_file_path=str(request.path.with_suffix("")),
        scope_key=scope_key(request.node),
        update=option.snapshot_update,
        raw=option.snapshot_raw,
        verify=not option.snapshot_skip_all,
    )


def execution_record(result: ExecutionResult, exchange: list[dict[str, Any]] | None) -> dict[str, Any]:
    """What an execution did, as the snapshot keeps it: AWS's own fields only (and the exchange,
    unless it was not observed: None)."""
    record: dict[str, Any] = {
        "status": result.status,
        "events": [event["type"] for event in result.history],
        "states": result.states,
    }
    if result.status == "SUCCEEDED":
        record["output"] = result.output
    else:
        record["error"], record["cause"] = result.error, result.cause
    if exchange is not None:
        record["exchange"] = [_request(entry) for entry in exchange]
    return _masked(record)


def _masked(value: Any) -> Any:
    """Values under credential-like names (testbed.runs.masking) masked, at any depth: an echoed
    request in an output carries its Authorization header too. A file is no place for a secret."""
    if isinstance(value, dict):
        return {key: MASK if masking.is_secret_name(str(key)) and isinstance(item, str | list) else _masked(item)
                for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _request(entry: dict[str, Any]) -> dict[str, Any]:
    """A journal entry: what the Lambda sent (method, raw path, query, headers, body), and the status."""
    headers = {name: value for name, value in entry["headers"].items() if name.lower() not in TRANSPORT_HEADERS}
    return {
        "method": entry["method"],
        "path": entry["rawPath"],
        "query": entry["query"],
        "headers": headers,
        "body": entry["json"] if entry["json"] is not None else entry["body"],
        "status": (entry["response"] or {}).get("status"),
    }


def transformers(result: ExecutionResult, api_base_url: str) -> list[Any]:
    """The placeholders for one execution whose Lambda reached the API at `api_base_url`."""
    base = api_base_url.rstrip("/")
    name = result.arn.rsplit(":", 1)[-1]
    return [
        TextTransformer(base, "<api-base-url>"),  # before the host, which it contains
        TextTransformer(urlsplit(base).netloc, "<api-host>"),
        TextTransformer(trace_id_for(result.arn), "<trace-id>"),
        RegexTransformer(_PARENT_ID, r"\1<parent-id>\2"),
        TextTransformer(name, "<execution-name>"),
        RegexTransformer(_ARN_REGION_ACCOUNT, r"\1:<region>:<account>:"),
        RegexTransformer(_CLIENT_VERSION, "python-requests/<version>"),
        UniqueIds(),
        *(KeyValueBasedTransformer(_key_is(key), replacement, replace_reference=False)
          for key, replacement in VOLATILE_KEYS.items()),
        TimestampTransformer(),
    ]


def _key_is(wanted: str) -> Callable[[str, Any], Any]:
    return lambda key, value: value if key == wanted and value is not None else None


class UniqueIds:
    """`support.unique` names (`user-3f2a...`) become `<user:1>`, `<user:2>`: numbered by first
    appearance, so two different ids stay different in the snapshot."""

    def transform(self, input_data: dict[str, Any], *, ctx: TransformContext) -> dict[str, Any]:
        seen: dict[str, str] = {}
        for found in UNIQUE_ID.finditer(json.dumps(input_data)):
            if found[0] not in seen:
                seen[found[0]] = f"<{found['prefix']}:{ctx.new_scope(found['prefix'])}>"
        for value, placeholder in seen.items():
            ctx.register_serialized_replacement(lambda text, v=value, p=placeholder: text.replace(v, p))
        return input_data


def match_execution(snapshot: SnapshotSession, testbed: Testbed, result: ExecutionResult,
                    key: str = "execution") -> None:
    """Compare the whole execution with the snapshot (or record it under --snapshot-update).
    The exchange is the journal's entries of this execution's trace id, whatever their path."""
    exchange: list[dict[str, Any]] | None = None
    if testbed.stack.name == "aws":
        # AWS has no journal (the Lambda calls the user's test API, docs/aws.md): the execution is
        # compared with the snapshot, the exchange is not; and it is never re-recorded from there.
        if snapshot.update:
            pytest.fail("snapshots are recorded on an emulator backend: on AWS the HTTP exchange is not observed")
        snapshot.unobserved = ("$..exchange",)
    else:
        exchange = testbed.received("", trace_id=trace_id_for(result.arn))
    snapshot.add_transformer(transformers(result, testbed.stack.endpoints.mockapi_for_lambda))
    snapshot.match(key, execution_record(result, exchange))
