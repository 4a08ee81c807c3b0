"""`testbed record`: --target URL starts a recording, --stop --name NAME writes it, --verify NAME checks drift.

The deployed Lambda's base_url already is the stack's mock API (the seed's api_base_url), so
recording needs no redeploy: the mock API proxies what the filters select to the target, and
what passes through is scrubbed of every secret the templates resolve before it is kept.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from testbed import aws, settings
from testbed.config import Config
from testbed.errors import TestbedError
from testbed.record import files
from testbed.record.client import MockApiAdmin, RecordingError
from testbed.record.secrets import every_form, secret_values
from testbed.stacks.backends import make_stack
from testbed.stacks.base import Stack, StackError


def add_parser(sub: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = sub.add_parser(
        "record", help="record the real API through the mock API; --stop writes it; --verify checks drift")
    action = command.add_mutually_exclusive_group(required=True)
    action.add_argument("--target", help="start recording: the real API's base URL, e.g. https://api.example.com")
    action.add_argument("--stop", action="store_true", help="stop recording and write mockapi/recordings/NAME/")
    action.add_argument("--verify", metavar="NAME", help="replay recording NAME against the live API; exit 1 on drift")
    command.add_argument("--name", help="the recording's name (with --stop)")
    command.add_argument("--out", help="folder to write (default: mockapi/recordings/NAME)")
    command.add_argument("--path-pattern", help="record only paths matching this regex (filters.urlPathPattern)")
    command.add_argument("--method", help="record only this method (filters.method)")
    command.add_argument("--capture-header", action="append", default=[], help="match replays on this header too")
    command.add_argument("--scrub-header", action="append", default=[], help="one more credential header to scrub")
    command.add_argument("--scrub-json-path", action="append", default=[], help="scrub this JSON path, e.g. $.password")
    command.add_argument("--scrub-query", action="append", default=[], help="scrub this query parameter's value")
    command.add_argument("--no-scenarios", action="store_true", help="a repeated request keeps its first answer only")
    command.add_argument("--verify-target", help="with --verify: the live API (default: the recorded one)")
    command.add_argument("--header-env", action="append", default=[], metavar="NAME=VAR",
                         help="with --verify: send header NAME with the value of environment variable VAR")
    command.add_argument("--compare-header", action="append", default=[], help="with --verify: compare its presence")
    command.add_argument("--json", action="store_true", help="with --verify: print the report as JSON")
    command.set_defaults(func=run)
    return command


def run(args: argparse.Namespace) -> int:
    if args.verify:
        return _verify(args)
    stack = make_stack(args.config, None)
    if not stack.is_running():
        raise StackError("no stack is running: `make up` first (recording goes through its mock API)")
    if args.stop:
        stop(stack, args)
    else:
        start(stack, args)
    return 0


def parse(argv: list[str], config: Config) -> argparse.Namespace:
    """`testbed record ARGV` as the CLI reads it (for callers that hold a Stack, e.g. tests)."""
    parser = argparse.ArgumentParser(prog="testbed")
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["record", *argv])
    args.config = config
    return args


def start(stack: Stack, args: argparse.Namespace) -> None:
    _check_reachable(stack, args.target)
    admin = MockApiAdmin(stack.endpoints.mockapi)
    _check_lambda_points_at_mockapi(stack)
    values, missing = secret_values(stack.target)
    spec: dict[str, Any] = {
        "targetBaseUrl": args.target,
        "filters": {k: v for k, v in (("urlPathPattern", args.path_pattern), ("method", args.method)) if v},
        "captureHeaders": {name: {} for name in args.capture_header},
        "repeatsAsScenarios": not args.no_scenarios,
        "persist": False,
        "scrub": {"headers": args.scrub_header, "values": every_form(values), "jsonPaths": args.scrub_json_path,
                  "queryParameters": args.scrub_query},
    }
    try:
        admin.start(spec)
    except RecordingError as exc:
        if exc.context.get("status") != 403:
            raise
        stack.allow_record_target(args.target)  # the person at this terminal allows it explicitly
        print(f"Restarted the mock API allowing {args.target}: its run-time stubs and journal start empty.")
        admin = MockApiAdmin(stack.endpoints.mockapi)
        admin.start(spec)
    print(f"Recording {args.target} through {stack.endpoints.mockapi} "
          f"({len(values)} template secrets will be scrubbed).")
    for name in missing:
        print(f"  note: secret {name!r} could not be resolved, so it is scrubbed by header name only")
    print("Run your executions now (`testbed run ...`), then: testbed record --stop --name NAME")


def stop(stack: Stack, args: argparse.Namespace) -> Path:
    """Stop the recording and write it; returns the folder."""
    if not args.name:
        raise TestbedError("--stop needs --name NAME (the folder mockapi/recordings/NAME/)")
    folder = Path(args.out) if args.out else settings.RECORDINGS_DIR / files.check_name(args.name)
    admin = MockApiAdmin(stack.endpoints.mockapi)
    mappings = admin.stop()
    har = admin.har()
    values, _ = secret_values(stack.target)
    written = files.write_recording(folder, mappings, har, every_form(values))
    shown = folder.relative_to(settings.ROOT) if folder.resolve().is_relative_to(settings.ROOT) else folder
    print(f"Wrote {len(mappings)} mappings and a HAR file to {shown}/ ({len(written)} files, scanned for secrets).")
    print(f"Replay it strictly: TESTBED_MOCKAPI_MAPPINGS={shown} TESTBED_MOCKAPI_STRICT=1 make up / make test")
    return folder


def _check_reachable(stack: Stack, target: str) -> None:
    """A loopback target is the mock API's own host: refused where that is a container, not this machine."""
    host = urlsplit(target).hostname or ""
    if not _is_loopback(host):
        return
    address = stack.local_server_host()
    if not _is_loopback(address):
        raise TestbedError(f"--target {target}: the {stack.name} stack's mock API runs in a container, "
                           f"where {host} is the container itself, not this machine",
                           hint=f"serve the API on {address} (this machine's address on the stack's network) "
                                f"and record --target http://{address}:PORT")


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_lambda_points_at_mockapi(stack: Stack) -> None:
    config = aws.client("lambda", stack.target).get_function_configuration(FunctionName=settings.FUNCTION_NAME)
    base_url = config.get("Environment", {}).get("Variables", {}).get("API_BASE_URL", "")
    if base_url.rstrip("/") != stack.endpoints.mockapi_for_lambda.rstrip("/"):
        raise TestbedError(f"the deployed Lambda calls {base_url!r}, not the mock API "
                           f"({stack.endpoints.mockapi_for_lambda}): its calls would not be recorded",
                           hint="seed it with the stack's mock API: `make up`")


def _verify(args: argparse.Namespace) -> int:
    # The drift check reads exchanges with the mock API's own model: imported only here, since the
    # emulator image's `testbed seed` builds this parser and has no mock API package.
    from testbed.record import drift

    folder = Path(args.out) if args.out else settings.RECORDINGS_DIR / files.check_name(args.verify)
    header_values = {}
    for item in args.header_env:
        name, equals, variable = item.partition("=")
        if not equals or variable not in args.config.environ:
            raise TestbedError(f"--header-env {item!r}: needs NAME=VAR with VAR set in the environment")
        header_values[name] = args.config.environ[variable]
    checks = drift.verify(files.read_har(folder), args.verify_target, header_values, tuple(args.compare_header))
    if args.json:
        print(json.dumps([c.to_json() for c in checks], indent=2))
    else:
        for c in checks:
            state = "DRIFT" if c.drifted else "skip " if c.skipped else "ok   "
            print(f"{state} {c.request} (mapping {c.mapping_id}){': ' + '; '.join(c.changes) if c.changes else ''}"
                  f"{' ' + c.skipped if c.skipped else ''}")
        drifted = sum(c.drifted for c in checks)
        print(f"{len(checks)} mappings checked: {drifted} drifted, {sum(bool(c.skipped) for c in checks)} not checked")
    return 1 if any(c.drifted for c in checks) else 0
