"""A response's Content-Type is chosen without loading whole botocore service models.

Upstream (`ministack.core.responses._expected_envelope_content_type`, MiniStack 1.5.33) picks
the Content-Type AWS sends for a service's responses from two fields of the service's botocore
model, `protocol` and `jsonVersion`. To read them it creates a botocore session and loads the
service's whole model (service-2.json): ~0.6 s of CPU per emulator process for the services
the testbed calls, paid again by every emulator a test starts. The patch reads the two fields
from the table below for those services (tests/unit/test_emulator_patches.py checks the table
against botocore's models), and leaves every other service to upstream's lookup. The Step
Functions aws-sdk integrations, which need the whole model, keep upstream's `_service_model`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from testbed.emulator.patches.source import patch_function_source

NAME = "content-types"
UPSTREAM = {
    "ministack.core.responses._expected_envelope_content_type":
        "6379abdff09edcd0e86aad3df1d2e9c21fac4dcfadaff9910e29d77b01d91b10",
    "ministack.core.responses._service_model":
        "19fff93e5fdb9417630b61712ce68870cbe2036b0df899ea08ef25d47b2e3c84",
}
# MiniStack's service name -> the botocore model metadata upstream reads (botocore 1.43.106).
PROTOCOLS: dict[str, dict[str, str]] = {
    "cloudformation": {"protocol": "query"},
    "dynamodb": {"protocol": "json", "jsonVersion": "1.0"},
    "iam": {"protocol": "query"},
    "lambda": {"protocol": "rest-json"},
    "logs": {"protocol": "json", "jsonVersion": "1.1"},
    "s3": {"protocol": "rest-xml"},
    "ssm": {"protocol": "json", "jsonVersion": "1.1"},
    "states": {"protocol": "json", "jsonVersion": "1.0"},
    "sts": {"protocol": "query"},
}
OLD = "    model = _service_model(service)\n"
NEW = "    model = _testbed_envelope_model(service)\n"


@dataclass(frozen=True)
class EnvelopeModel:
    """The part of a botocore ServiceModel that upstream's Content-Type choice reads."""

    metadata: dict[str, str]


def envelope_model(service: str, upstream: Any) -> Any:
    known = PROTOCOLS.get(service)
    return EnvelopeModel(dict(known)) if known is not None else upstream(service)


def apply() -> None:
    from ministack.core import responses

    upstream = responses._service_model
    responses._testbed_envelope_model = lambda service: envelope_model(service, upstream)
    patch_function_source(responses, "_expected_envelope_content_type", OLD, NEW, NAME)
