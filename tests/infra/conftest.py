"""The CDK app synthesized once per session, as `make synth` does (AWS context), lint included."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from testbed import settings
from testbed.config import Config
from testbed.deploy import nodejs, synth

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# These tests import aws_cdk in this process, and jsii spawns `node` from PATH: the machine's,
# else the venv's (as every synth does). Without either, the synth's error says what to run.
with contextlib.suppress(nodejs.NodeMissing):
    os.environ["PATH"] = nodejs.search_path(("node",), os.environ.get("PATH", os.defpath))

# One xdist worker runs every infra test (`--dist loadgroup`): importing aws_cdk starts the CDK's
# Node.js runtime (jsii) in the process, ~1.2 s of CPU that each worker would pay again. Hence
# also no module-level `import aws_cdk` in these test modules: every worker collects them.
# A module-level `pytestmark`, since xdist ignores a group mark added at collection.
INFRA_GROUP = pytest.mark.xdist_group("infra")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A new infra test module that forgets `pytestmark = INFRA_GROUP` is refused, not slow."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("xdist_group") is None:
            raise pytest.UsageError(f"{item.path.name}: add `pytestmark = INFRA_GROUP` (tests/infra/conftest.py)")


@pytest.fixture(scope="session")
def assembly() -> synth.Assembly:
    """The AWS assembly in infra/cdk.out, where `make synth` puts it; synthesized only if stale.

    synthesize() runs cdk-nag (in the app), cfn-lint and statelint before it keeps an assembly
    (it raises on a finding), and re-synthesizes whenever an input changed (infra/, the Lambda,
    the ASL): a kept one is as checked as a new one, and costs nothing (a synth is ~8 s of CPU).
    """
    return synth.synthesize(Config(), settings.ROOT / "infra" / "cdk.out", context={})


@pytest.fixture(scope="session")
def template_json(assembly: synth.Assembly) -> dict[str, Any]:
    return json.loads(assembly.template_path.read_text())


@pytest.fixture(scope="session")
def template(template_json: dict[str, Any]) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(template_json)


def resources_of(template_json: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in template_json["Resources"].items() if v["Type"] == kind}


def asset_dir(assembly: synth.Assembly, s3_key: str) -> Path:
    return assembly.directory / f"asset.{s3_key.rsplit('.', 1)[0]}"
