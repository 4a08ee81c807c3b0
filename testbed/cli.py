"""Command line: `python -m testbed up|down|status|seed|run|show|executions|...` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from generic_api_call import secret_store
from generic_api_call.errors import GenericApiCallError
from generic_api_call.template import Template, from_dynamodb_item
from testbed import aws, errors, settings
from testbed.config import BACKEND_NAMES, Config
from testbed.deploy import synth
from testbed.deploy.seed import SeedConfig, allowed_hosts, seed
from testbed.deploy.templates import TEMPLATE_SUFFIXES, TemplateFileError, load_file
from testbed.runs import dryrun, executions, timeline_sources
from testbed.runs.inert import inert, json_text
from testbed.stacks import backends
from testbed.stacks.backends import make_stack
from testbed.stacks.base import StackError

if TYPE_CHECKING:
    from mockapi.contract import Operation


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.config = Config.from_env()  # the one read of the environment; passed down from here
        code: int = args.func(args)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is met below
        return code
    except BrokenPipeError:
        if not _stdout_reader_gone():
            raise  # a pipe of ours, not the reader of our output: a bug
        # `testbed show --json | head`: the reader has what it wanted. No traceback, and none at
        # exit when Python flushes stdout again; 141 is what a shell reports for a SIGPIPE death.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # the one place the CLI turns an error into `error:` lines
        error = errors.user_error(exc)
        if error is None:
            raise  # a bug: Python prints the traceback
        # Messages quote inputs (a template's name, what AWS echoed): shown inert, like every view.
        print(inert("\n".join(error.lines())), file=sys.stderr)
        return 1


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader closed it (poll reports POLLERR on its write end)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLERR)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no file descriptor (captured), or closed
        return False


def _synth(args: argparse.Namespace) -> int:
    context = dict(synth.EMULATOR_CONTEXT if args.emulator else {})
    default_out = synth.default_outdir(args.config) if args.emulator else settings.ROOT / "infra" / "cdk.out"
    assembly = synth.synthesize(args.config, Path(args.out) if args.out else default_out, context, force=args.force)
    state = "synthesized" if assembly.synthesized else "nothing changed (inputs unchanged)"
    print(f"{assembly.template_path}: {state}; cfn-lint and statelint clean")
    return 0


def _up(args: argparse.Namespace) -> int:
    stack = make_stack(args.config, args.backend)
    print(f"Starting the {stack.name} stack...")
    backends.remember(args.config, stack.name)
    stack.start()
    print("Deploying the CDK app's stack and loading the templates (the first synth and Lambda bundle "
          "take ~20-60 s; then seconds)...", flush=True)
    report = stack.seed()
    print("Seed:")
    print(inert("\n".join(report.lines())))  # template names come from files: inert
    print()
    print(stack.summary(report.state_machine_arn))
    return 0


def _down(args: argparse.Namespace) -> int:
    stack = make_stack(args.config, args.backend)
    was_running = stack.is_running()
    stack.stop()
    backends.forget(args.config)
    print(f"Stopped the {stack.name} stack." if was_running else f"The {stack.name} stack was not running.")
    for note in stack.stop_notes():
        print(note)
    return 0


def _status(args: argparse.Namespace) -> int:
    """Exit 0: every service runs; 3: none does; 4: some do (half-stopped: `make down`, then `make up`)."""
    stack = make_stack(args.config, args.backend)
    states = stack.service_states()
    up = [name for name, state in states.items() if state == "running"]
    if len(up) == len(states):
        print(f"{stack.name}: running")
        print(f"  AWS emulator {stack.endpoints.aws}\n  mock API     {stack.endpoints.mockapi}")
        return 0
    if not up:
        print(f"{stack.name}: stopped")
        return 3
    print(f"{stack.name}: partly running")
    for name, state in states.items():
        print(f"  {name:<10} {state}")
    print("Stop what is left with `make down`, then start again with `make up`.")
    return 4


def _seed(args: argparse.Namespace) -> int:
    if not (args.endpoint or args.config.aws_endpoint):
        print("error: set AWS_ENDPOINT_URL or --endpoint (the seed never targets AWS by accident)",
              file=sys.stderr)
        return 2
    report = seed(SeedConfig(api_base_url=args.api_base_url, endpoint=args.endpoint, config=args.config,
                             templates_dir=Path(args.templates), templates_only=args.templates_only,
                             assembly=Path(args.assembly) if args.assembly else None, log_level=args.log_level))
    if args.report_file:
        _write_whole(Path(args.report_file), report.to_json())
    if args.json:
        print(report.to_json())
        return 0
    print("Seed:")
    print(inert("\n".join(report.lines())))  # template names come from files: inert
    return 0


def _write_whole(path: Path, text: str) -> None:
    """A reader sees the whole file or none (it may poll for it)."""
    staged = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    staged.write_text(text + "\n", encoding="utf-8")
    staged.replace(path)


def _run(args: argparse.Namespace) -> int:
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        print(f"error: --params is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(params, dict):
        print("error: --params must be a JSON object, e.g. '{\"user_id\": \"42\"}'", file=sys.stderr)
        return 2
    target = _target(args)
    sfn = aws.client("stepfunctions", target)
    try:
        result = executions.run(
            sfn, _state_machine_arn(target),
            {"templateName": args.template, "method": args.method.upper(), "params": params},
            timeout=args.timeout,
        )
    except executions.ExecutionTimeout as exc:  # testbed/runs/ is not on TestbedError (yet)
        raise errors.TestbedError(str(exc), hint="a longer --timeout, or `testbed show` it later") from exc
    _print_timeline(args, target, result.arn)
    return 0 if result.status == "SUCCEEDED" else 1


def _show(args: argparse.Namespace) -> int:
    target = _target(args)
    arn = timeline_sources.execution_arn(_state_machine_arn(target), args.execution)
    status = _print_timeline(args, target, arn)
    return 0 if status == "SUCCEEDED" else 1


def _executions(args: argparse.Namespace) -> int:
    target = _target(args)
    sfn = aws.client("stepfunctions", target)
    rows = timeline_sources.recent(sfn, _state_machine_arn(target), args.limit)
    from testbed.runs import timeline_view  # rich: not installed where the emulator image runs `testbed seed`

    if args.json:
        print(json_text(rows))
    else:
        timeline_view.render_executions(rows, timeline_view.console())
    return 0


def _print_timeline(args: argparse.Namespace, target: aws.Target, arn: str) -> str:
    sfn = aws.client("stepfunctions", target)
    logs = aws.client("logs", target)
    try:
        found = timeline_sources.timeline(sfn, logs, _mockapi_url(args, target.endpoint), arn,
                                          clients=lambda service: aws.client(service, target))
    except timeline_sources.ExecutionNotFound as exc:  # testbed/runs/ is not on TestbedError (yet)
        raise errors.TestbedError(str(exc)) from exc
    from testbed.runs import timeline_view  # rich: not installed where the emulator image runs `testbed seed`

    if args.json:
        print(json_text(found.to_dict()))
    else:
        timeline_view.render(found, timeline_view.console())
    return found.status


def _target(args: argparse.Namespace) -> aws.Target:
    """--endpoint, else AWS_ENDPOINT_URL, else the running stack's: never AWS by accident."""
    endpoint = args.endpoint or args.config.aws_endpoint
    if endpoint:
        return aws.Target.of(args.config, str(endpoint))
    try:
        stack = make_stack(args.config, None)
        if stack.is_running():
            return stack.target
    except (OSError, subprocess.CalledProcessError):
        pass
    raise StackError('no stack to talk to: `make up`, then `eval "$(make -s env)"` (or pass --endpoint URL)')


def _state_machine_arn(target: aws.Target) -> str:
    return aws.state_machine_arn(target, settings.STATE_MACHINE_NAME)


def _mockapi_url(args: argparse.Namespace, endpoint: str | None) -> str | None:
    """--mockapi, else $TESTBED_MOCKAPI_URL, else the mock API of the running stack at `endpoint`."""
    if args.mockapi or args.config.mockapi_url:
        return str(args.mockapi or args.config.mockapi_url)
    try:
        stack = make_stack(args.config, None)
        if stack.is_running() and (endpoint is None or stack.endpoints.aws == endpoint.rstrip("/")):
            return stack.endpoints.mockapi
    except (StackError, OSError, subprocess.CalledProcessError):
        return None
    return None


def _render(args: argparse.Namespace) -> int:
    params = _params(args.params)
    if params is None:
        return 2
    method = args.method.upper()
    contract: Operation | None = None
    if args.from_table:
        target = _target(args)
        template, base_url, allowed, secrets = _deployed(args.template, method, target)
        source = f"table {settings.TABLE_NAME} at {target.label}"
    else:
        path = _template_path(Path(args.templates), args.template, method)
        template_file = load_file(path)
        template, contract = template_file.template, template_file.contract
        base_url = args.base_url or args.config.mockapi_url or args.config.default_mockapi_url
        shown = path.resolve().relative_to(settings.ROOT) if path.resolve().is_relative_to(settings.ROOT) else path
        allowed = allowed_hosts(base_url, args.config.allowed_hosts_extra)
        secrets, source = dryrun.placeholder_secrets, str(shown)
    result = dryrun.dry_run(template, params, base_url=base_url, allowed_hosts=allowed, secrets=secrets,
                            source=source, contract=contract)
    print(json_text(result.to_dict()) if args.json else dryrun.render_text(result))
    return 0 if result.ok else 1


def _params(text: str) -> dict[str, object] | None:
    try:
        params = json.loads(text)
    except ValueError as exc:
        print(f"error: --params is not valid JSON: {exc}", file=sys.stderr)
        return None
    if not isinstance(params, dict):
        print("error: --params must be a JSON object, e.g. '{\"user_id\": \"42\"}'", file=sys.stderr)
        return None
    return params


def _template_path(directory: Path, name: str, method: str) -> Path:
    for suffix in TEMPLATE_SUFFIXES:
        candidate = directory / f"{name}.{method}{suffix}"
        if candidate.is_file():
            return candidate
    known = sorted(p.stem for p in directory.glob("*.*") if p.suffix in TEMPLATE_SUFFIXES)
    raise TemplateFileError(directory / f"{name}.{method}.yaml",
                            f"no such template file; templates here: {', '.join(known) or 'none'}")


def _deployed(name: str, method: str, target: aws.Target) -> tuple[Template, str, str, Callable[[str], str]]:
    """The template from the table and the Lambda's own settings (base URL, allow-list, secret store)."""
    item = aws.client("dynamodb", target).get_item(
        TableName=settings.TABLE_NAME, Key={"PK": {"S": name}, "SK": {"S": method}}, ConsistentRead=True,
    ).get("Item")
    if item is None:
        raise TemplateFileError(Path(settings.TABLE_NAME), f"no item PK={name!r} SK={method!r} in the table")
    config = aws.client("lambda", target).get_function_configuration(FunctionName=settings.FUNCTION_NAME)
    variables = config.get("Environment", {}).get("Variables", {})
    secrets = secret_store.resolver(lambda service: aws.client(service, target))
    try:
        template = from_dynamodb_item(item)
    except GenericApiCallError as exc:  # InvalidTemplate: what the Lambda would fail on
        raise errors.wrap(exc, f"table item PK={name!r} SK={method!r}") from exc
    return template, variables.get("API_BASE_URL", ""), variables.get("ALLOWED_HOSTS", ""), secrets


def _env(args: argparse.Namespace) -> int:
    from testbed.stacks import shell_env

    stack = make_stack(args.config, args.backend)
    if not stack.is_running():
        print(f"error: the {stack.name} stack is not running; start it with `make up`", file=sys.stderr)
        return 1
    print(shell_env.exports(stack))
    return 0


def _watch(args: argparse.Namespace) -> int:
    from testbed.deploy import watch

    stack = make_stack(args.config, args.backend)
    if not stack.is_running():
        print(f"error: the {stack.name} stack is not running; start it with `make up`", file=sys.stderr)
        return 1
    paths = watch.WatchedPaths.of()
    print(f"Watching {', '.join(watch.relative(p) for p in paths.all())} -> {stack.name} stack at "
          f"{stack.endpoints.aws} (Ctrl-C to stop)", flush=True)
    try:
        watch.Watcher(stack, paths, lambda line: print(line, flush=True)).run()
    except KeyboardInterrupt:  # Ctrl-C during a deploy: stop, without a traceback
        print("Stopped watching.")
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m testbed", description=__doc__)
    sub = parser.add_subparsers(required=True, metavar="command")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)
        command.set_defaults(func=func)
        return command

    for name, func, help_text in (
        ("up", _up, "start the stack (if needed), seed it, print endpoints"),
        ("down", _down, "stop the stack started by `up`"),
        ("status", _status, "is the stack running?"),
    ):
        add(name, func, help_text).add_argument(
            "--backend", choices=BACKEND_NAMES, default=None,
            help="default: $BACKEND, else docker when an engine answers, else embedded (aws: docs/aws.md)")

    add("env", _env, 'print exports for the running stack: eval "$(make -s env)"').add_argument(
        "--backend", choices=BACKEND_NAMES, default=None, help="default: the stack `up` started")
    add("watch", _watch, "re-deploy templates, Lambda and state machine to the running stack on change").add_argument(
        "--backend", choices=BACKEND_NAMES, default=None, help="default: the stack `up` started")

    seed_cmd = add("seed", _seed, "deploy the CDK app's stack to a running emulator, load the templates "
                                  "(never AWS: that is BACKEND=aws make up, docs/aws.md)")
    seed_cmd.add_argument("--endpoint", default=None, help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
    seed_cmd.add_argument("--api-base-url", required=True, help="where the Lambda reaches the external API")
    seed_cmd.add_argument("--templates", default=str(settings.TEMPLATES_DIR), help="template files folder")
    seed_cmd.add_argument("--templates-only", action="store_true",
                          help="write the templates only, to the deployed table (fast, after editing templates)")
    seed_cmd.add_argument("--assembly", default=None,
                          help="a synthesized cloud assembly (cdk.out) to deploy; default: synthesize infra/")
    seed_cmd.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                          help="the Lambda's LOG_LEVEL (stack parameter)")
    seed_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    seed_cmd.add_argument("--report-file", default=None,
                          help="also write the report, as JSON, to this file (the docker stack's start hook)")

    synth_cmd = add("synth", _synth, "synthesize infra/ (skipped when unchanged), lint the template and the ASL")
    synth_cmd.add_argument("--out", default=None,
                           help="output folder (default: infra/cdk.out, with --emulator .testbed/cdk.out)")
    synth_cmd.add_argument("--emulator", action="store_true",
                           help="the emulator's context (removalPolicy=destroy); default: cdk.json's (AWS)")
    synth_cmd.add_argument("--force", action="store_true", help="synthesize even when the inputs are unchanged")

    run_cmd = add("run", _run, "start an execution and wait for its end")
    run_cmd.add_argument("template", help="template name (PK)")
    run_cmd.add_argument("method", help="HTTP method (SK)")
    run_cmd.add_argument("--params", default="{}", help="JSON object of params")
    run_cmd.add_argument("--endpoint", default=None, help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
    run_cmd.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the end")
    _timeline_options(run_cmd)

    show_cmd = add("show", _show, "print the timeline of a past execution")
    show_cmd.add_argument("execution", help="execution name or ARN (see `testbed executions`)")
    show_cmd.add_argument("--endpoint", default=None, help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
    _timeline_options(show_cmd)

    render_cmd = add("render", _render,
                     "dry run: the request a template would send; the destination and contract checks")
    render_cmd.add_argument("template", help="template name (PK)")
    render_cmd.add_argument("method", help="HTTP method (SK)")
    render_cmd.add_argument("--params", default="{}", help="JSON object of params")
    render_cmd.add_argument("--from-table", action="store_true",
                            help="read the template and the Lambda's settings from the running stack")
    render_cmd.add_argument("--endpoint", default=None,
                            help="AWS endpoint for --from-table (default: $AWS_ENDPOINT_URL)")
    render_cmd.add_argument("--templates", default=str(settings.TEMPLATES_DIR), help="template files folder")
    render_cmd.add_argument("--base-url", default=None,
                            help="{{ base_url }} without a stack "
                                 "(default: $TESTBED_MOCKAPI_URL, else the mock API's default port on 127.0.0.1)")
    render_cmd.add_argument("--json", action="store_true", help="print JSON")

    from testbed.record import command as record_command

    record_command.add_parser(sub)

    list_cmd = add("executions", _executions, "list recent executions (status, duration, template)")
    list_cmd.add_argument("--endpoint", default=None, help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
    list_cmd.add_argument("--limit", type=int, default=20, help="how many (newest first)")
    list_cmd.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _timeline_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--mockapi", default=None,
                         help="mock API URL for the HTTP exchange "
                              "(default: $TESTBED_MOCKAPI_URL, else the running stack's)")
    command.add_argument("--json", action="store_true", help="print the timeline as JSON (for machines)")
