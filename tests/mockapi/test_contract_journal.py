"""The mock API checks each journaled request against the OpenAPI documents of --contracts (issue 19)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.mockapi.conftest import serve
from tests.mockapi.support import REPO_ROOT, MockApi, run_cli

CONTRACTS = REPO_ROOT / "seed" / "contracts"


@pytest.fixture(scope="module")
def checked_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApi]:
    with serve(tmp_path_factory.mktemp("mockapi-contracts"), "--contracts", str(CONTRACTS)) as api:
        yield api


def _entry(api: MockApi, path: str) -> dict[str, Any]:
    [entry] = requests.get(api.url("/__admin/requests"), params={"pathPrefix": path}, timeout=5).json()["requests"]
    return entry


def test_a_conforming_request_is_journaled_with_its_operation(checked_api: MockApi) -> None:
    requests.get(checked_api.url("/users/u-conform"), params={"fields": "id,name"}, timeout=5)
    entry = _entry(checked_api, "/users/u-conform")
    assert entry["contract"] == {"document": "api.yaml", "operation": "getUser", "method": "GET",
                                 "path": "/users/{userId}"}
    assert entry["contractViolations"] == []


def test_a_violation_names_the_part_and_field(checked_api: MockApi) -> None:
    requests.post(checked_api.url("/orders?ref=violation-1"), timeout=5,
                  json={"customerId": "c", "items": [{"sku": "a", "qty": "x"}]})
    [entry] = [e for e in requests.get(checked_api.url("/__admin/requests"), params={"pathPrefix": "/orders"},
                                       timeout=5).json()["requests"] if e["rawQuery"] == "ref=violation-1"]
    messages = [v["message"] for v in entry["contractViolations"]]
    assert messages == ["header.Idempotency-Key: required", "body.items[0].qty: 'x' is not of type 'integer'"]


def test_a_path_no_document_has_is_journaled_as_before(checked_api: MockApi) -> None:
    requests.get(checked_api.url("/echo/no-contract"), timeout=5)
    entry = _entry(checked_api, "/echo/no-contract")
    assert "contract" not in entry and "contractViolations" not in entry


def test_without_contracts_nothing_is_checked(mock_api: MockApi) -> None:
    requests.get(mock_api.url("/users/u-unchecked"), timeout=5)
    assert "contract" not in _entry(mock_api, "/users/u-unchecked")


def test_a_bad_contracts_folder_is_refused(tmp_path) -> None:
    (tmp_path / "api.yaml").write_text("openapi: 3.1.0\npaths: {}\n")  # no info: not a valid document
    done = run_cli("--contracts", str(tmp_path), "--port", "0")
    assert done.returncode == 4
    assert f"bad --contracts: {tmp_path / 'api.yaml'}: not a valid OpenAPI" in done.stderr
