"""BACKEND=aws without AWS: the opt-in, the run's names and record, the seed's refusal, the skips.

Nothing here reaches AWS: every target is a closed local port (127.0.0.1:9), so a check that
were missing would fail on a refused connection, never on a call to an account. The deploy,
the tests and the deletion run against an emulator standing in for AWS in `.ci/run`
(scripts/aws-standin.sh).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from testbed.config import Config
from testbed.deploy.seed import SeedConfig, SeedError, seed
from testbed.stacks import backends
from testbed.stacks.aws_stack import AwsStack, Record, check_api_base_url, stack_name_for
from testbed.stacks.base import StackError
from tests import aws_run

CLOSED = "http://127.0.0.1:9"  # nothing listens: a call that slipped through fails at once, locally


def _config(tmp_path: Path, **changes: object) -> Config:
    return Config(state_dir=tmp_path, aws_endpoint=CLOSED, aws_api_base_url="https://api.example.com",
                  environ={}).replace(**changes)


def test_up_without_the_opt_in_is_refused_and_records_nothing(tmp_path: Path) -> None:
    stack = AwsStack(_config(tmp_path))
    with pytest.raises(StackError, match="TESTBED_AWS_OPT_IN=1") as refused:
        stack.start()
    assert "docs/aws.md" in (refused.value.hint or "")
    assert not stack.record_file.exists() and stack.record() is None


def test_the_seed_never_writes_to_aws_unless_its_caller_opted_in(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path, aws_endpoint=None, environ={})  # no endpoint: AWS itself
    with pytest.raises(SeedError, match="never writes to AWS by accident"):
        seed(SeedConfig(api_base_url="https://api.example.com", config=config, templates_only=True))


def test_up_needs_a_test_api_without_credentials_in_it(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="TESTBED_AWS_API_BASE_URL"):
        AwsStack(_config(tmp_path, aws_opt_in=True, aws_api_base_url=None)).start()
    with pytest.raises(StackError, match="holds credentials") as refused:
        check_api_base_url("https://user:s3cret@api.example.com")
    assert "s3cret" not in str(refused.value)
    with pytest.raises(StackError, match="not an http"):
        check_api_base_url("ftp://api.example.com")
    assert check_api_base_url("https://api.example.com/v1") == "https://api.example.com/v1"


def test_a_stack_name_per_run_and_a_bad_run_id_named() -> None:
    assert stack_name_for("12345") == "ApiTemplateTestbed-12345"
    for bad in ("", "-x", "a_b", "x" * 101):
        with pytest.raises(StackError, match="TESTBED_AWS_RUN_ID"):
            stack_name_for(bad)


def test_the_record_leads_down_to_the_stack_up_made(tmp_path: Path) -> None:
    stack = AwsStack(_config(tmp_path, region="eu-west-1"))
    stack._save(Record("ApiTemplateTestbed-r1", "ap-south-1", None, "https://api.example.com", "retain"))
    # Another shell, another region in its environment: the recorded stack's region counts.
    again = AwsStack(_config(tmp_path, region="us-east-1"))
    assert again.record() == Record("ApiTemplateTestbed-r1", "ap-south-1", None, "https://api.example.com", "retain")
    assert (again.target.endpoint, again.target.region) == (None, "ap-south-1")
    # A second `up` with another run id is refused (one stack per state folder), before any call.
    with pytest.raises(StackError, match="names another") as refused:
        AwsStack(_config(tmp_path, aws_opt_in=True, aws_run_id="r2")).start()
    assert "make down" in (refused.value.hint or "")


def test_down_without_a_record_does_nothing(tmp_path: Path) -> None:
    stack = AwsStack(_config(tmp_path))
    stack.stop()  # no call: the closed endpoint would refuse one
    assert not stack.is_running() and stack.stop_notes() == []


def test_auto_never_picks_aws_but_down_finds_the_last_up(tmp_path: Path) -> None:
    config = Config(state_dir=tmp_path, environ={})
    assert backends.resolve(config, "aws") == "aws"
    assert backends.resolve(config, "auto") in backends.BACKENDS
    backends.remember(config, "aws")
    assert isinstance(backends.make_stack(config), AwsStack)


class _Item:
    def __init__(self, **markers: dict[str, str]) -> None:
        self.markers = markers

    def get_closest_marker(self, name: str) -> SimpleNamespace | None:
        return SimpleNamespace(kwargs=self.markers[name]) if name in self.markers else None


def test_an_aws_run_skips_what_a_test_says_it_needs_with_the_reason() -> None:
    assert aws_run.skip_reason(_Item()) is None  # unmarked: runs on AWS unchanged
    assert aws_run.skip_reason(_Item(needs_mockapi={})) == \
        f"BACKEND=aws: needs_mockapi: {aws_run.SKIPPED_ON_AWS['needs_mockapi']}"
    own = aws_run.skip_reason(_Item(emulator_only={"reason": "the emulator's log"}))
    assert own == "BACKEND=aws: emulator_only: the emulator's log"
