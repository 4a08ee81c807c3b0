"""A Lambda imports only its bundle and what the AWS runtime provides, on every backend.

Without testbed/emulator/patches/lambda_isolation.py, the embedded backend's Lambdas run with the harness's
.venv on sys.path, so a dependency missing from the deployment zip (Jinja2, requests) still
imports and the mistake shows only on AWS. This probe function bundles nothing but itself.
"""

from __future__ import annotations

import json

import pytest

from tests.support import Testbed as Bed

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only(
    reason="a throwaway function with an unchecked role, run by the emulator's Lambda workers")]

_PROBE = '''
import importlib

def handler(event, context):
    found = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return found
'''


def test_a_dependency_missing_from_the_bundle_does_not_import(testbed: Bed, make_function) -> None:
    name = make_function(_PROBE)
    modules = ["jinja2", "requests", "markupsafe", "yaml", "ministack", "testbed", "generic_api_call",
               "boto3", "botocore", "json"]
    response = testbed.client("lambda").invoke(FunctionName=name, Payload=json.dumps({"modules": modules}).encode())
    found = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, found
    # Not in the bundle, not in the AWS runtime: must not import (the harness's venv has them all).
    assert {m: found[m] for m in modules[:7]} == dict.fromkeys(modules[:7], False)
    # The AWS Python runtime provides the SDK, and the standard library is there.
    assert found["boto3"] and found["botocore"] and found["json"]
