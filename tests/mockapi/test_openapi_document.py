"""The mock API and the OpenAPI document (issue 19): the shipped stubs answer as the document
says (openapi-core's response validation), and `--openapi FILE` answers from its examples."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockapi.contract import HttpRequest, HttpResponse, load
from tests.mockapi.conftest import serve
from tests.mockapi.support import REPO_ROOT, MockApi

DOCUMENT = REPO_ROOT / "seed" / "contracts" / "api.yaml"
# One conforming request per response the stubs give: (method, path, headers, JSON body)
REQUESTS = [
    ("GET", "/users/42?fields=id,name&lang=en", {}, None),
    ("POST", "/orders", {"Idempotency-Key": "r-1"}, {"customerId": "c-1", "items": [{"sku": "A-1", "qty": 2}]}),
    ("GET", "/secure/profile", {"Authorization": "Bearer testbed-token"}, None),
    ("GET", "/secure/profile", {"Authorization": "Bearer wrong"}, None),
    ("GET", "/status/200", {}, None),
    ("GET", "/status/503", {}, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), REQUESTS)
def test_the_shipped_stubs_answer_as_the_document_says(mock_api: MockApi, method: str, path: str,
                                                       headers: dict[str, str], body: object) -> None:
    sent = requests.request(method, mock_api.url(path), headers=headers, json=body, timeout=5)
    prepared = sent.request
    request = HttpRequest(method, mock_api.url(path), dict(prepared.headers),
                          prepared.body if isinstance(prepared.body, bytes) else None)
    document = load(DOCUMENT)
    assert document.check(request) == [], "the request itself must conform"
    assert document.match(method, mock_api.url(path)) is not None
    assert document.check_response(request, HttpResponse(sent.status_code, dict(sent.headers), sent.content)) == []


def test_a_stub_answer_the_document_refuses_is_found() -> None:
    request = HttpRequest("GET", "http://h/secure/profile", {"Authorization": "Bearer x"}, None)
    wrong = HttpResponse(200, {"Content-Type": "application/json"}, b'{"name": "alice"}')
    [problem] = load(DOCUMENT).check_response(request, wrong)
    assert "'user' is a required property" in problem


@pytest.fixture(scope="module")
def examples_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockApi]:
    directory: Path = tmp_path_factory.mktemp("mockapi-openapi")
    (directory / "stubs.yaml").write_text("stubs: []\n")
    with serve(directory, "--stubs", str(directory / "stubs.yaml"), "--openapi", str(DOCUMENT)) as api:
        yield api


def test_no_stub_answers_from_the_first_example_of_the_lowest_2xx(examples_api: MockApi) -> None:
    answer = requests.get(examples_api.url("/secure/profile"), timeout=5)
    assert answer.status_code == 200 and answer.json() == {"user": "alice"}


def test_prefer_chooses_the_status_and_the_example(examples_api: MockApi) -> None:
    answer = requests.post(examples_api.url("/orders"), json={}, timeout=5,
                           headers={"Prefer": "code=409, example=duplicate"})
    assert answer.status_code == 409 and answer.json() == {"error": "duplicate order"}
    assert answer.headers["Content-Type"].startswith("application/json")


def test_a_path_the_document_lacks_is_still_no_stub_matched(examples_api: MockApi) -> None:
    answer = requests.get(examples_api.url("/nowhere"), timeout=5)
    assert answer.status_code == 404 and answer.json()["error"] == "no stub matched"
