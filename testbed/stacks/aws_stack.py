"""The aws backend: the CDK app deployed to the AWS account of the credentials, one stack per run.

`up` (after the opt-in, TESTBED_AWS_OPT_IN=1) deploys the app with the pinned CDK CLI as
ApiTemplateTestbed-<run id> into the region of the environment, then loads the templates with
the seed's validated, transactional writer; `down` deletes that stack. The run's record (stack
name, region, endpoint, the test API) lives in the state folder, so `down`, `status` and the
tests find the stack `up` made. The Lambda calls a test API the user gives
(TESTBED_AWS_API_BASE_URL): a mock API on this machine is out of its reach (docs/aws.md).

Physical names (table, function, state machine, roles) are the app's fixed ones: the ASL names
the table, and the tests name all of them. So one run per account and region at a time (IAM
role names: per account); a second is refused before anything is created (guards).
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from testbed import aws, settings
from testbed.config import Config
from testbed.deploy import cdk_cli, cloudformation, guards, synth
from testbed.deploy.report import SeedReport
from testbed.deploy.seed import SeedConfig, allowed_hosts, seed
from testbed.stacks.base import Endpoints, Stack, StackError

# Deleting the stack on AWS: the Lambda, the state machine and the roles take a minute or two.
DELETE_TIMEOUT_SECONDS = 900.0
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,99}")


@dataclass(frozen=True)
class Record:
    """What `up` deployed, for `down` and the tests (the state folder's aws/stack.json)."""

    stack_name: str
    region: str
    endpoint: str | None  # None: AWS itself; an emulator standing in for it (.ci/run)
    api_base_url: str
    removal_policy: str
    state_machine_arn: str = ""


def stack_name_for(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise StackError(f"TESTBED_AWS_RUN_ID={run_id!r}: letters, digits and hyphens (at most 100), "
                         "starting with a letter or digit", hint="e.g. TESTBED_AWS_RUN_ID=$GITHUB_RUN_ID")
    return f"{settings.STACK_NAME}-{run_id}"


def check_api_base_url(url: str | None) -> str:
    """The test API: http(s), and no credentials in it (the URL is a stack parameter: it is shown)."""
    if not url:
        raise StackError("BACKEND=aws needs TESTBED_AWS_API_BASE_URL: the test API the deployed Lambda calls "
                         "(the mock API on this machine is out of its reach)", hint="docs/aws.md, 'The test API'")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StackError(f"TESTBED_AWS_API_BASE_URL={url!r} is not an http(s) URL, e.g. https://api.example.com")
    if parts.username or parts.password:
        raise StackError("TESTBED_AWS_API_BASE_URL holds credentials (user:password@): stack parameters are "
                         "shown in the console and the CLI's output; give templates their secrets by name")
    return url


class AwsStack(Stack):
    name = "aws"
    has_mock_api = False  # the Lambda calls a user-given test API: no journal to read

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config()
        self.run_dir = self.config.run_dir("aws")
        self.record_file = self.run_dir / "stack.json"
        self.notes: list[str] = []

    # --- the record -----------------------------------------------------------------------
    def record(self) -> Record | None:
        try:
            return Record(**json.loads(self.record_file.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise StackError(f"{self.record_file} is not a record of `make up`: {exc}",
                             hint="delete the stack it names by hand (docs/aws.md), then the file") from None

    def _save(self, record: Record) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        staged = self.record_file.with_suffix(".tmp")
        staged.write_text(json.dumps(asdict(record), indent=2) + "\n")
        staged.replace(self.record_file)

    @property
    def target(self) -> aws.Target:
        """The recorded run's region and endpoint (a `down` from another shell finds the same stack)."""
        record = self.record()
        if record is None:
            return aws.Target.of(self.config)
        return aws.Target(record.endpoint, record.region, self.config.has_credentials)

    @property
    def endpoints(self) -> Endpoints:
        record = self.record()
        api = record.api_base_url if record else (self.config.aws_api_base_url or "")
        return Endpoints(aws=self.target.label, mockapi=api, mockapi_for_lambda=api)

    # --- the Stack interface --------------------------------------------------------------
    def start(self) -> None:
        """Check the opt-in, the test API and the credentials; record the run's stack name."""
        if not self.config.aws_opt_in:
            raise StackError("BACKEND=aws deploys the stack to the AWS account of your credentials (and costs a "
                             "few cents a run): set TESTBED_AWS_OPT_IN=1 to do that on purpose",
                             hint="docs/aws.md: the role, the costs, and what a run creates")
        api_base_url = check_api_base_url(self.config.aws_api_base_url)
        recorded = self.record()
        if recorded is not None:
            wanted = self.config.aws_run_id
            if wanted and stack_name_for(wanted) != recorded.stack_name:
                raise StackError(f"stack {recorded.stack_name} of an earlier `make up` is recorded in "
                                 f"{self.record_file}; TESTBED_AWS_RUN_ID={wanted!r} names another",
                                 hint="`BACKEND=aws make down` first, or unset TESTBED_AWS_RUN_ID")
            return
        try:
            aws.client("sts", self.target).get_caller_identity()
        except (BotoCoreError, ClientError) as exc:
            raise StackError(f"no usable AWS credentials for BACKEND=aws: {exc}",
                             hint="configure them (a profile; OIDC in CI: docs/aws.md)") from None
        name = stack_name_for(self.config.aws_run_id or uuid.uuid4().hex[:10])
        target = aws.Target.of(self.config)
        self._save(Record(name, target.region, target.endpoint, api_base_url, self.config.aws_removal_policy))

    def is_running(self) -> bool:
        record = self.record()
        return record is not None and cloudformation.exists(self.target, record.stack_name)

    def seed(self) -> SeedReport:
        """Deploy with the CDK CLI (the assembly synthesized with the run's context), then the templates."""
        record = self._require_record()
        target = self.target
        assembly = synth.synthesize(self.config, self.run_dir / "cdk.out", {
            "removalPolicy": record.removal_policy, "stackName": record.stack_name})
        deployed_before = cloudformation.exists(target, record.stack_name)
        if not deployed_before:
            guards.refuse_foreign_resources(target, record.stack_name, fix=(
                "delete them (a table kept by removalPolicy=retain: `aws dynamodb delete-table`), or wait for the "
                "run that owns them (one run per account and region; docs/aws.md)"))
        outputs = cdk_cli.deploy(self.config, target, assembly.directory, {
            settings.PARAM_API_BASE_URL: record.api_base_url,
            settings.PARAM_ALLOWED_HOSTS: allowed_hosts(record.api_base_url, self.config.allowed_hosts_extra),
        }, self.run_dir / "outputs.json")
        templates = seed(SeedConfig(api_base_url=record.api_base_url, endpoint=target.endpoint,
                                    config=self.config.replace(region=target.region), templates_only=True,
                                    allow_aws=True))
        arn = outputs.get(settings.OUTPUT_STATE_MACHINE_ARN) or templates.state_machine_arn
        self._save(Record(**{**asdict(record), "state_machine_arn": arn}))
        what = "deployed (cdk deploy)" if not deployed_before else "deployed again (cdk deploy: updated or unchanged)"
        return SeedReport(changed=[f"stack {record.stack_name}: {what}", *templates.changed],
                          unchanged=templates.unchanged, state_machine_arn=arn)

    def stop(self) -> None:
        """Delete the run's stack; what removalPolicy=retain keeps is said (self.notes), not deleted."""
        record = self.record()
        if record is None:
            return
        retained = cloudformation.delete(self.target, record.stack_name, timeout=DELETE_TIMEOUT_SECONDS)
        if retained:
            self.notes.append(
                f"Kept by removalPolicy={record.removal_policy} (DeletionPolicy Retain), as the CDK app asks: "
                f"{', '.join(retained)}. The next BACKEND=aws run in this account and region refuses to "
                "create over them: delete them when their data is not needed (docs/aws.md, 'Cleaning up'), "
                "or set TESTBED_AWS_REMOVAL_POLICY=destroy for test runs.")
        self.record_file.unlink(missing_ok=True)
        shutil.rmtree(self.run_dir / "cdk.out", ignore_errors=True)

    def stop_notes(self) -> list[str]:
        return list(self.notes)

    def emulator_logs(self) -> str:
        return ""  # no emulator: the Lambda's logs are in CloudWatch Logs

    def summary(self, state_machine_arn: str) -> str:
        record = self._require_record()
        return "\n".join([
            f"Stack {record.stack_name} is deployed to {self.target.label}.",
            f"  test API        {record.api_base_url}   (the Lambda's base_url)",
            f"  table           {settings.TABLE_NAME}",
            f"  state machine   {state_machine_arn}",
            f"  removal policy  {record.removal_policy}",
            "Run the tests against it: BACKEND=aws make test; delete it: BACKEND=aws make down",
        ])

    def _require_record(self) -> Record:
        record = self.record()
        if record is None:
            raise StackError("no BACKEND=aws run is recorded in this state folder", hint="BACKEND=aws make up")
        return record
