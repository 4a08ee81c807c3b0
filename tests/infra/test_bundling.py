"""The Lambda bundle takes its versions from constraints.txt, and its asset hash follows them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from testbed import settings
from testbed.deploy import synth
from tests import support
from tests.infra.conftest import INFRA_GROUP, asset_dir, resources_of

pytestmark = INFRA_GROUP

_PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)$", re.MULTILINE)


def _pins(constraints: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in _PIN.findall(constraints.read_text())}


def _distributions(folder: Path) -> dict[str, str]:
    """name -> version of the *.dist-info folders pip wrote (name-version.dist-info)."""
    pairs = (p.name.removesuffix(".dist-info").rsplit("-", 1) for p in folder.glob("*.dist-info"))
    return {canonicalize_name(name): version for name, version in pairs}


def test_the_bundle_holds_the_pinned_versions(assembly: synth.Assembly, template_json: dict[str, Any]) -> None:
    (function,) = resources_of(template_json, "AWS::Lambda::Function").values()
    bundled = _distributions(asset_dir(assembly, function["Properties"]["Code"]["S3Key"]))
    pins = _pins(settings.ROOT / "constraints.txt")
    assert {"jinja2", "requests", "urllib3", "markupsafe", "idna"} <= bundled.keys()
    assert bundled == {name: pins[name] for name in bundled}


def test_a_pin_moves_the_bundle_and_its_hash_only_when_the_lambda_has_it(tmp_path: Path) -> None:
    from api_stack import bundling

    tree = support.source_copy(tmp_path)
    lambda_dir, constraints, cache = tree / "lambdas" / "generic_api_call", tree / "constraints.txt", tmp_path / "cache"
    original = constraints.read_text()
    before = bundling.source_hash(lambda_dir, cache)

    # A package the Lambda does not hold: installed again (the cache key covers the constraints),
    # the same distributions, the same asset hash, so nothing is redeployed.
    constraints.write_text(re.sub(r"(?m)^ruff==.*$", "ruff==0.0.1", original))
    assert bundling.source_hash(lambda_dir, cache) == before

    # One it holds: the bundle gets the new version, under a new asset hash.
    constraints.write_text(re.sub(r"(?m)^idna==.*$", "idna==3.10", original))
    assert bundling.source_hash(lambda_dir, cache) != before
    deps = bundling.install_dependencies(lambda_dir / "requirements.txt", cache)
    assert _distributions(deps)["idna"] == "3.10"


def test_a_pin_change_makes_the_next_synth_run(tmp_path: Path) -> None:
    """constraints.txt is a synth input: the bundle it pins is part of the assembly."""
    tree = support.source_copy(tmp_path)
    before = synth.inputs_hash({}, tree)
    constraints = tree / "constraints.txt"
    constraints.write_text(re.sub(r"(?m)^idna==.*$", "idna==3.10", constraints.read_text()))
    assert synth.inputs_hash({}, tree) != before
