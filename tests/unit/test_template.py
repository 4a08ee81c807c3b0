"""Templates from DynamoDB items (TypeDeserializer) and plain data, with field checks."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeSerializer

from generic_api_call.errors import InvalidTemplate
from generic_api_call.limits import MAX_TEMPLATE_CHARS, text_chars
from generic_api_call.template import DEFAULT_TIMEOUT_SECONDS, from_dynamodb_item, from_plain

serialize = TypeSerializer().serialize


def item(**fields):
    return {key: serialize(value) for key, value in fields.items()}


def test_item_in_attribute_value_form_is_deserialised():
    t = from_dynamodb_item(item(
        PK="get_user", SK="get", url="{{ base_url }}/u", headers={"A": "b"},
        query={"q": "1", "tags": ["a", "b"]}, body={"n": Decimal("2"), "f": Decimal("1.5"), "l": [Decimal("3")]},
        timeoutSeconds=Decimal("4"),
    ))
    assert (t.name, t.method, t.url) == ("get_user", "GET", "{{ base_url }}/u")
    assert t.headers == {"A": "b"} and t.query == {"q": "1", "tags": ["a", "b"]}
    assert t.body == {"n": 2, "f": 1.5, "l": [3]}
    assert isinstance(t.body["n"], int) and t.timeout_seconds == 4.0


def test_defaults():
    t = from_plain({"PK": "a", "SK": "GET", "url": "http://x"})
    assert t.headers == {} and t.query == {} and t.body is None
    assert t.timeout_seconds == DEFAULT_TIMEOUT_SECONDS


@pytest.mark.parametrize(("fields", "message"), [
    ({"url": None}, "missing required field 'url'"),
    ({"url": 3}, "'url' must be a non-empty string"),
    ({"SK": "FETCH"}, "must be an HTTP method"),
    ({"headers": ["a"]}, "'headers' must be a map"),
    ({"headers": {"A": 1}}, "'headers.A' must be a string"),
    ({"query": {"q": 1}}, "'query.q' must be a string or a list"),
    ({"body": 3}, "'body' must be a string, a map or a list"),
    ({"timeoutSeconds": "5"}, "'timeoutSeconds' must be a number"),
    ({"timeoutSeconds": 0}, "must be in"),
    ({"timeoutSeconds": 600}, "must be in"),
    ({"colour": "red"}, "unknown field"),
])
def test_bad_fields_are_named(fields, message):
    data = {"PK": "a", "SK": "GET", "url": "http://x"}
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(InvalidTemplate, match=message):
        from_plain(data)


def test_item_not_in_attribute_value_form():
    with pytest.raises(InvalidTemplate, match="attribute-value form"):
        from_dynamodb_item({"PK": "a", "SK": "GET", "url": "http://x"})


def test_a_template_over_the_size_limit_is_refused_before_it_compiles():
    # GIVEN the largest template the limit allows, counted as JSON over url, headers, query and body
    base = {"PK": "big", "SK": "POST", "url": "http://h/", "headers": {"X-A": "a"}, "query": {"q": ["1", "2"]}}
    room = MAX_TEMPLATE_CHARS - text_chars({**{k: base[k] for k in ("url", "headers", "query")}, "body": ""})
    # THEN it is accepted, and one character more is refused, naming the fields and the limit
    assert from_plain({**base, "body": "x" * room}).name == "big"
    refused = f"'body' are {MAX_TEMPLATE_CHARS + 1} characters .* {MAX_TEMPLATE_CHARS}"
    with pytest.raises(InvalidTemplate, match=refused):
        from_plain({**base, "body": "x" * (room + 1)})
    # a map body counts as a whole (its keys too: simpler, and conservative)
    with pytest.raises(InvalidTemplate, match="over the limit"):
        from_plain({**base, "body": {f"k{i}": "{{ params.v }}" for i in range(1000)}})
    # a character is one character, whatever its script (compiling costs the same)
    assert from_plain({**base, "body": "日本語" * (room // 3)}).name == "big"
