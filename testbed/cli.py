"""Command line: `python -m testbed up|down|status|seed|run` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from testbed import aws, backends, executions, settings, synth
from testbed.backends import make_stack
from testbed.deploy import DeployError
from testbed.deploy_checks import CheckError
from testbed.packaging import PackagingError
from testbed.probes import NotReady
from testbed.seed import SeedConfig, SeedError, seed
from testbed.stack import StackError
from testbed.statemachine import DefinitionError
from testbed.synth import SynthError
from testbed.templates import TemplateFileError

USER_ERRORS = (
    StackError, NotReady, SeedError, TemplateFileError, DefinitionError, PackagingError,
    executions.ExecutionTimeout, SynthError, DeployError, CheckError,
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"error: AWS call failed: {exc}", file=sys.stderr)
        return 1


def _synth(args: argparse.Namespace) -> int:
    context = dict(synth.EMULATOR_CONTEXT if args.emulator else {})
    default_out = settings.STATE_DIR / "cdk.out" if args.emulator else settings.ROOT / "infra" / "cdk.out"
    assembly = synth.synthesize(Path(args.out) if args.out else default_out, context, force=args.force)
    state = "synthesized" if assembly.synthesized else "nothing changed (inputs unchanged)"
    print(f"{assembly.template_path}: {state}; cfn-lint and statelint clean")
    return 0


def _up(args: argparse.Namespace) -> int:
    stack = make_stack(args.backend)
    print(f"Starting the {stack.name} stack...")
    backends.remember(stack.name)
    stack.start()
    report = stack.seed()
    print("Seed:")
    print("\n".join(report.lines()))
    print()
    print(stack.summary(report.state_machine_arn))
    return 0


def _down(args: argparse.Namespace) -> int:
    stack = make_stack(args.backend)
    was_running = stack.is_running()
    stack.stop()
    backends.forget()
    print(f"Stopped the {stack.name} stack." if was_running else f"The {stack.name} stack was not running.")
    return 0


def _status(args: argparse.Namespace) -> int:
    stack = make_stack(args.backend)
    running = stack.is_running()
    print(f"{stack.name}: {'running' if running else 'stopped'}")
    if running:
        print(f"  AWS emulator {stack.endpoints.aws}\n  mock API     {stack.endpoints.mockapi}")
    return 0 if running else 3


def _seed(args: argparse.Namespace) -> int:
    if not (args.endpoint or aws.endpoint_url()):
        print("error: set AWS_ENDPOINT_URL or --endpoint (the seed never targets AWS by accident)",
              file=sys.stderr)
        return 2
    report = seed(SeedConfig(api_base_url=args.api_base_url, endpoint=args.endpoint,
                             templates_dir=Path(args.templates), templates_only=args.templates_only,
                             assembly=Path(args.assembly) if args.assembly else None, log_level=args.log_level))
    if args.json:
        print(report.to_json())
        return 0
    print("Seed:")
    print("\n".join(report.lines()))
    return 0


def _run(args: argparse.Namespace) -> int:
    try:
        params = json.loads(args.params)
    except ValueError as exc:
        print(f"error: --params is not valid JSON: {exc}", file=sys.stderr)
        return 2
    if not isinstance(params, dict):
        print("error: --params must be a JSON object, e.g. '{\"user_id\": \"42\"}'", file=sys.stderr)
        return 2
    endpoint = args.endpoint or aws.endpoint_url()
    sfn = aws.client("stepfunctions", endpoint=endpoint)
    account = aws.client("sts", endpoint=endpoint).get_caller_identity()["Account"]
    arn = f"arn:aws:states:{aws.region()}:{account}:stateMachine:{settings.STATE_MACHINE_NAME}"
    result = executions.run(
        sfn, arn, {"templateName": args.template, "method": args.method.upper(), "params": params},
        timeout=args.timeout,
    )
    print(json.dumps({
        "status": result.status,
        "states": result.states,
        "output": result.output,
        "error": result.error,
        "cause": result.cause,
    }, indent=2, ensure_ascii=False))
    return 0 if result.status == "SUCCEEDED" else 1


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
            "--backend", choices=["auto", "embedded", "docker"], default=None,
            help="default: $BACKEND, else docker when an engine answers, else embedded")

    seed_cmd = add("seed", _seed, "deploy the CDK app's stack to a running emulator, load the templates")
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
    return parser
