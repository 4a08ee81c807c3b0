"""The deploy checks refuse what AWS would refuse: invalid ASL, a template cfn-lint rejects."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from testbed import settings
from testbed.config import Config
from testbed.deploy import lint, synth
from tests import support
from tests.infra.conftest import INFRA_GROUP

pytestmark = INFRA_GROUP


def test_the_project_asl_and_template_are_clean(assembly: synth.Assembly) -> None:
    assert lint.asl_problems(settings.ASL_PATH) == []
    assert lint.cfn_lint(assembly.template_path) == []


def test_invalid_asl_is_refused_with_the_problem(tmp_path: Path) -> None:
    definition = json.loads(settings.ASL_PATH.read_text())
    definition["States"]["CheckTemplateExists"]["Default"] = "NoSuchState"
    bad = tmp_path / "bad.asl.json"
    bad.write_text(json.dumps(definition))
    assert any("NoSuchState" in p for p in lint.asl_problems(bad))
    (tmp_path / "t.json").write_text("{}")
    with pytest.raises(lint.CheckError, match="not valid Amazon States Language"):
        lint.check_assembly(tmp_path / "t.json", bad)


def test_asl_that_is_not_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.asl.json"
    bad.write_text("{not json")
    assert lint.asl_problems(bad)[0].startswith("not JSON")


def test_cfn_lint_findings_are_refused(template_json: dict, tmp_path: Path) -> None:
    broken = json.loads(json.dumps(template_json))
    table = next(r for r in broken["Resources"].values() if r["Type"] == "AWS::DynamoDB::Table")
    table["Properties"]["BillingMode"] = "FREE"
    path = tmp_path / "broken.template.json"
    path.write_text(json.dumps(broken))
    assert any("FREE" in finding for finding in lint.cfn_lint(path))


def test_synth_is_skipped_when_inputs_are_unchanged(assembly: synth.Assembly) -> None:
    again = synth.synthesize(Config(), assembly.directory, context={})
    assert again.synthesized is False
    # The kept AWS assembly is not reused for the emulator's context (removalPolicy=destroy).
    assert not synth.is_current(assembly.directory, synth.EMULATOR_CONTEXT)


def test_the_inputs_hash_follows_the_sources_not_the_build_output(tmp_path: Path) -> None:
    tree = support.source_copy(tmp_path)
    before = synth.inputs_hash({}, tree)
    # Build output beside the inputs (cdk.out, bytecode) changes nothing...
    (tree / "infra" / "cdk.out").mkdir()
    (tree / "infra" / "cdk.out" / "manifest.json").write_text("{}")
    (tree / "lambdas" / "generic_api_call" / "__pycache__").mkdir(exist_ok=True)
    (tree / "lambdas" / "generic_api_call" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert synth.inputs_hash({}, tree) == before
    # ...an edit of the Lambda, the ASL or the app does.
    for edited in (settings.LAMBDA_DIR / settings.LAMBDA_PACKAGE / "handler.py", settings.ASL_PATH,
                   settings.ROOT / "infra" / "app.py"):
        path = tree / edited.relative_to(settings.ROOT)
        original = path.read_bytes()
        path.write_bytes(original + b"\n")
        assert synth.inputs_hash({}, tree) != before, f"an edit of {edited.name} is not an input"
        path.write_bytes(original)
    assert synth.inputs_hash({}, tree) == before


def test_an_assembly_rewritten_by_the_cdk_cli_is_synthesized_again(assembly: synth.Assembly, tmp_path: Path) -> None:
    # GIVEN the kept assembly's files (its stamp among them), elsewhere
    copy = tmp_path / "cdk.out"
    copy.mkdir()
    for path in assembly.directory.iterdir():
        if path.is_file():
            shutil.copy(path, copy / path.name)
    assert synth.is_current(copy, {})

    # WHEN `cdk deploy -c removalPolicy=destroy` rewrites the template in place (the stamp stays)
    template = copy / assembly.template_path.name
    rewritten = template.read_text().replace('"Retain"', '"Delete"')
    assert rewritten != template.read_text()
    template.write_text(rewritten)

    # THEN the next synth does not reuse it
    assert not synth.is_current(copy, {})
