"""The CDK app synthesized once per session, as `make synth` does (AWS context), lint included."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from testbed import synth

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> synth.Assembly:
    # synthesize() runs cdk-nag (in the app), cfn-lint and statelint: it raises on a finding.
    return synth.synthesize(tmp_path_factory.mktemp("infra") / "cdk.out", context={})


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
