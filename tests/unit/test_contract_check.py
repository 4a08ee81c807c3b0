"""Contract check (issue 19): template files name an operation of an OpenAPI document; the dry run
and the seed check rendered requests against it; the broken templates are flagged at the right field."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from generic_api_call.template import from_plain
from mockapi.contract import HttpRequest, load
from testbed import settings
from testbed.deploy.examples import check as check_examples
from testbed.deploy.seed import SeedConfig, validate
from testbed.deploy.templates import TemplateFileError, load_dir, load_file
from testbed.runs import dryrun

VIOLATIONS_DIR = settings.ROOT / "tests" / "contract_violations"
CONTRACT = settings.ROOT / "seed" / "contracts" / "api.yaml"
BASE = "http://127.0.0.1:9"
# file -> the violation the check must report (the right part and field)
EXPECTED = {
    "missing_query.GET.yaml": "query.fields: required",
    "wrong_type.POST.yaml": "body.items[0].qty: 'x2' is not of type 'integer'",
    "misspelled_field.POST.yaml": "body.customerId: required",
    "missing_header.POST.yaml": "header.Idempotency-Key: required",
    "missing_auth.GET.yaml": "security: no credentials for bearer",
    "path_param_in_query.GET.yaml": "operation: GET /status matches no operation of api.yaml, "
                                    "not getStatus (GET /status/{code})",
}


def test_every_broken_template_has_an_expectation() -> None:
    assert sorted(p.name for p in VIOLATIONS_DIR.glob("*.yaml")) == sorted(EXPECTED)


def _dry_run(path: Path, params: dict[str, object] | None = None) -> dryrun.DryRun:
    template_file = load_file(path)
    return dryrun.dry_run(template_file.template, template_file.examples[0] if params is None else params,
                          base_url=BASE, allowed_hosts="127.0.0.1:9", secrets=dryrun.placeholder_secrets,
                          source=str(path), contract=template_file.contract)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_dry_run_flags_the_field(name: str) -> None:
    result = _dry_run(VIOLATIONS_DIR / name)
    assert EXPECTED[name] in result.contract_violations
    assert not result.ok and "violation" in (result.contract or "")
    assert f"#   {EXPECTED[name]}" in dryrun.render_text(result)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_seed_refuses_the_example_before_writing(tmp_path: Path, name: str) -> None:
    # ../../seed/contracts/api.yaml from <tmp>/tests/contract_violations, as in the source tree
    templates = tmp_path / "tests" / "contract_violations"
    templates.mkdir(parents=True)
    shutil.copy(VIOLATIONS_DIR / name, templates / name)
    (tmp_path / "seed" / "contracts").mkdir(parents=True)
    shutil.copy(CONTRACT, tmp_path / "seed" / "contracts" / "api.yaml")
    with pytest.raises(TemplateFileError) as refused:
        validate(SeedConfig(api_base_url=BASE, templates_dir=templates, source_root=tmp_path))
    message = str(refused.value)
    assert name in message and "field 'examples[0]' breaks the contract" in message
    assert EXPECTED[name] in message


def test_the_shipped_templates_and_their_examples_conform() -> None:
    files = validate(SeedConfig(api_base_url=BASE))
    assert {f.template.name: f.contract.operation_id for f in files if f.contract} == {
        "create_order": "createOrder", "get_profile": "getProfile", "get_status": "getStatus", "get_user": "getUser"}
    assert all(f.examples for f in files)


def test_contract_and_examples_never_reach_the_item() -> None:
    for template_file in load_dir(settings.TEMPLATES_DIR):
        assert "contract" not in template_file.item and "examples" not in template_file.item


def _write(tmp_path: Path, contract: object, examples: object = None) -> Path:
    (tmp_path / "contracts").mkdir(exist_ok=True)
    shutil.copy(CONTRACT, tmp_path / "contracts" / "api.yaml")
    path = tmp_path / "templates" / "t.GET.yaml"
    path.parent.mkdir(exist_ok=True)
    data: dict[str, object] = {"name": "t", "method": "GET", "url": "{{ base_url }}/users/1", "contract": contract}
    if examples is not None:
        data["examples"] = examples
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("contract", "examples", "message"), [
    ({"file": "../contracts/api.yaml", "operationId": "getUsr"}, None,
     "field 'contract.operationId': ../contracts/api.yaml: api.yaml has no operation operationId 'getUsr'"),
    ({"file": "../contracts/api.yaml", "path": "/users"}, None,
     "field 'contract.path': ../contracts/api.yaml: api.yaml has no operation GET /users"),
    ({"file": "../contracts/nope.yaml", "operationId": "getUser"}, None, "field 'contract.file':"),
    ({"file": "../contracts/api.yaml"}, None, "give one of 'operationId'"),
    ("api.yaml", None, "field 'contract': must be a map"),
    ({"file": "../contracts/api.yaml", "operationId": "getUser", "extra": 1}, None, "unknown key(s) ['extra']"),
    ({"file": "../contracts/api.yaml", "operationId": "getUser"}, {"user_id": 1}, "field 'examples': must be a list"),
])
def test_a_bad_contract_field_is_refused_naming_file_and_field(
        tmp_path: Path, contract: object, examples: object, message: str) -> None:
    path = _write(tmp_path, contract, examples)
    with pytest.raises(TemplateFileError) as refused:
        load_file(path)
    assert str(refused.value).startswith(f"{path}: ") and message in str(refused.value)


def test_an_operation_matched_by_method_and_path(tmp_path: Path) -> None:
    template_file = load_file(_write(tmp_path, {"file": "../contracts/api.yaml", "path": "/users/{userId}"}))
    assert template_file.contract is not None and template_file.contract.operation_id == "getUser"


def test_an_example_that_does_not_render_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, {"file": "../contracts/api.yaml", "operationId": "getUser"}, [{"x": "{{"}])
    path.write_text(path.read_text().replace("/users/1", "/users/{{ params.user_id | upper }}"))
    with pytest.raises(TemplateFileError, match=r"examples\[0\]' would fail before sending: RenderError"):
        check_examples([load_file(path)], BASE, "127.0.0.1:9")


def test_a_secret_in_a_violation_stays_masked() -> None:
    template = from_plain({"PK": "t", "SK": "POST", "url": "{{ base_url }}/orders", "secrets": ["/app/key"],
                           "headers": {"Idempotency-Key": "k", "Authorization": "Bearer x"},
                           "body": {"customerId": "c", "items": [{"sku": "a", "qty": "{{ secret('/app/key') }}"}]}})
    contract = load(CONTRACT).find("createOrder")
    result = dryrun.dry_run(template, {}, base_url=BASE, allowed_hosts="127.0.0.1:9",
                            secrets=lambda name: "s3cr3t-value", source="test", contract=contract)
    assert result.contract_violations == ("body.items[0].qty: '[REDACTED]' is not of type 'integer'",)
    assert "s3cr3t-value" not in json.dumps(result.to_dict())


def test_parameter_values_are_never_quoted() -> None:
    document = load(CONTRACT)
    found = document.check(HttpRequest("GET", "http://h/users/u?fields=S3CRET!&lang=toolong", {}, None))
    assert [str(v) for v in found] == ["query.fields: must match the pattern '^[a-z_]+(,[a-z_]+)*$'",
                                       "query.lang: must match the pattern '^[a-z]{2}$'"]


def test_a_template_without_contract_is_as_before(tmp_path: Path) -> None:
    """No contract: the same item, and no openapi-core import (~0.35 s) by the seed's checks."""
    data = yaml.safe_load((settings.TEMPLATES_DIR / "get_status.GET.yaml").read_text())
    plain = {k: v for k, v in data.items() if k not in ("contract", "examples")}
    (tmp_path / "get_status.GET.yaml").write_text(yaml.safe_dump(plain))
    shipped = next(f for f in load_dir(settings.TEMPLATES_DIR) if f.template.name == "get_status")
    assert load_dir(tmp_path)[0].item == shipped.item
    code = ("import sys; from pathlib import Path; from testbed.deploy import examples, templates; "
            "examples.check(templates.load_dir(Path(sys.argv[1])), 'http://127.0.0.1:9', '127.0.0.1:9'); "
            "print('openapi_core' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)],
                          capture_output=True, text=True, check=False, cwd=settings.ROOT, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_the_check_costs_under_2_ms_per_request() -> None:
    document = load(CONTRACT)
    operation = document.find("createOrder")
    body = json.dumps({"customerId": "c", "items": [{"sku": "a", "qty": 1}] * 5}).encode()
    request = HttpRequest("POST", "http://127.0.0.1:9/orders",
                          {"Content-Type": "application/json", "Idempotency-Key": "k"}, body)
    document.check(request, operation)  # the first builds openapi-core's validators
    rounds = 300
    # CPU time of this process: the machine's other work (2 cores, shared) does not count
    started = time.process_time()
    for _ in range(rounds):
        assert document.check(request, operation) == []
    per_request_ms = (time.process_time() - started) * 1000 / rounds
    print(f"\ncontract check: {per_request_ms:.3f} ms of CPU per request (createOrder, 5 items)")
    assert per_request_ms < 2.0
