"""Seed a stack: deploy the CDK app's stack, then load the template items, idempotently.

Infrastructure comes from one place, the CDK app in infra/: `seed` synthesizes it (skipped
when unchanged, `testbed.deploy.synth`), deploys the assembly through the emulator's CloudFormation
(`testbed.deploy.cloudformation`), then writes the templates (data, not infrastructure). Everything is
validated before the first write (template files, their examples against their contracts, the
ASL file, the template), so a bad input leaves the stack as it was. The items of files deleted
from the folder are deleted (`testbed.deploy.template_table`). Deploys to one emulator are
serialized by a file lock. A second run reports that nothing changed.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generic_api_call import destinations
from generic_api_call.errors import RenderError
from testbed import aws, settings
from testbed.config import Config
from testbed.deploy import cloudformation, examples, synth, template_table, templates
from testbed.deploy.report import SeedReport
from testbed.errors import TestbedError


class SeedError(TestbedError):
    """The stack is in a state the seed cannot reconcile (e.g. no table for --templates-only)."""


@dataclass(frozen=True)
class SeedConfig:
    api_base_url: str  # where the Lambda reaches the external API (the mock API locally)
    endpoint: str | None = None  # the emulator; None: the configuration's AWS_ENDPOINT_URL
    templates_dir: Path = settings.TEMPLATES_DIR
    templates_only: bool = False  # templates only; the stack must be deployed already
    assembly: Path | None = None  # a synthesized cloud assembly; None: synthesize infra/ (needs Node)
    source_root: Path = settings.ROOT  # the source tree whose infra/ is synthesized (tests: a copy)
    log_level: str = "INFO"
    config: Config = field(default_factory=Config)  # the harness's (state folder, region, allow-list extras)
    # AWS itself (no endpoint) only for the aws backend, which the user opted into (TESTBED_AWS_OPT_IN):
    # every other caller seeds an emulator, and one without an endpoint is refused before any call.
    allow_aws: bool = False

    @property
    def target(self) -> aws.Target:
        return aws.Target.of(self.config, self.endpoint)

    @property
    def folder(self) -> str:
        """The name the items seeded from templates_dir carry (template_table.folder_name)."""
        return template_table.folder_name(self.templates_dir, self.source_root)


def validate(config: SeedConfig) -> list[templates.TemplateFile]:
    """Every template file, checked as the Lambda would use it; raises before any write."""
    template_files = templates.load_dir(config.templates_dir, config.folder)
    allowed = allowed_hosts(config.api_base_url, config.config.allowed_hosts_extra)
    templates.check_destinations(template_files, config.api_base_url, allowed)
    examples.check(template_files, config.api_base_url, allowed)
    return template_files


def seed(config: SeedConfig) -> SeedReport:
    if config.target.endpoint is None and not config.allow_aws:
        raise SeedError("the seed targets an emulator: no endpoint was given (AWS_ENDPOINT_URL or --endpoint), "
                        "and it never writes to AWS by accident",
                        hint="to deploy to AWS on purpose, use BACKEND=aws with TESTBED_AWS_OPT_IN=1 (docs/aws.md)")
    template_files = validate(config)
    dynamodb = aws.client("dynamodb", config.target)
    report = SeedReport()
    with deploy_lock(config):
        if config.templates_only:
            _require_table(dynamodb)
        else:
            assembly = config.assembly or synth.synthesize(config.config, root=config.source_root).directory
            result = cloudformation.deploy(assembly, {
                settings.PARAM_API_BASE_URL: config.api_base_url,
                settings.PARAM_ALLOWED_HOSTS: allowed_hosts(config.api_base_url, config.config.allowed_hosts_extra),
                settings.PARAM_LOG_LEVEL: config.log_level,
            }, config.target, lint_cache=config.config.lint_cache_dir)
            report.changed += result.changed
            report.unchanged += result.unchanged
            report.state_machine_arn = result.outputs.get(settings.OUTPUT_STATE_MACHINE_ARN, "")
        written = template_table.put_templates(dynamodb, template_files, folder=config.folder)
        report.changed += written.changed
        report.unchanged += written.unchanged
    if not report.state_machine_arn:
        report.state_machine_arn = aws.state_machine_arn(config.target, settings.STATE_MACHINE_NAME)
    return report


@contextmanager
def deploy_lock(config: SeedConfig) -> Iterator[None]:
    """One deploy at a time per emulator endpoint (two first deploys would both create the stack)."""
    lock_dir = config.config.locks_dir
    lock_dir.mkdir(parents=True, exist_ok=True)
    target = config.target.endpoint or "aws"
    path = lock_dir / f"deploy-{re.sub(r'[^A-Za-z0-9]+', '_', target)}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _require_table(dynamodb: Any) -> None:
    try:
        dynamodb.describe_table(TableName=settings.TABLE_NAME)
    except dynamodb.exceptions.ResourceNotFoundException as exc:
        raise SeedError(f"table {settings.TABLE_NAME} does not exist: deploy the stack first "
                        "(`make up`, or `testbed seed` without --templates-only)") from exc


def allowed_hosts(api_base_url: str, extra: Sequence[str] = ()) -> str:
    """The Lambda's destination allow-list: the API's host and port, plus configured extras.

    The origin is read by the Lambda's own rule (`destinations.origin_of`), so the seed and the
    run-time check cannot disagree on schemes, default ports or host spelling.
    """
    try:
        origin = destinations.origin_of(api_base_url)
    except RenderError as exc:
        raise SeedError(f"--api-base-url {api_base_url!r}: {exc}") from None
    own = destinations.hostport(origin.host, origin.port)
    return ",".join([own, *extra])
