"""An execution's request is checked by the mock API against its contract (issue 19): each
broken template of tests/contract_violations is flagged at its field, in the journal entry of
the execution's request; the contract plugin fails a test with violations it does not expect."""

from __future__ import annotations

from typing import Any

import pytest
import requests
import yaml

from generic_api_call.trace import trace_id_for
from testbed.deploy.contracts import HARNESS_FIELDS
from testbed.deploy.templates import load_file
from tests.unit.test_contract_check import EXPECTED, VIOLATIONS_DIR

pytestmark = [pytest.mark.integration, pytest.mark.needs_mockapi]  # reads the mock API journal
# The dry run and the seed know the operation the template names; the mock API does not.
HITS_NO_OPERATION = {"path_param_in_query.GET.yaml"}


def _journaled(testbed: Any, arn: str) -> list[dict[str, Any]]:
    response = requests.get(f"{testbed.stack.endpoints.mockapi}/__admin/requests",
                            params={"traceId": trace_id_for(arn)}, timeout=10)
    response.raise_for_status()
    return response.json()["requests"]


@pytest.mark.contract_violations
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_execution_of_a_broken_template_is_flagged_at_its_field(testbed, make_template, name: str) -> None:
    template_file = load_file(VIOLATIONS_DIR / name)
    template = template_file.template
    data = yaml.safe_load((VIOLATIONS_DIR / name).read_text())
    fields = {k: v for k, v in data.items() if k not in ("name", "method", *HARNESS_FIELDS)}
    stored = make_template(template.method, **fields)

    result = testbed.run(stored, template.method, template_file.examples[0])

    [entry] = _journaled(testbed, result.arn)
    if name in HITS_NO_OPERATION:  # the mock API sees only the request: one that hits no operation is not checked
        assert "contract" not in entry
        return
    assert entry["contract"]["document"] == "api.yaml"
    assert EXPECTED[name] in [violation["message"] for violation in entry["contractViolations"]]


def test_the_shipped_templates_conform(testbed) -> None:
    result = testbed.run("get_user", "GET", {"user_id": "contract-ok", "fields": "id,name"})
    [entry] = _journaled(testbed, result.arn)
    assert entry["contract"]["operation"] == "getUser" and entry["contractViolations"] == []
