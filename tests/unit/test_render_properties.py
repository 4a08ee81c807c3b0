"""Properties of rendering for arbitrary param values: whatever the text, the request keeps
the template's destination, path segments, query keys and JSON keys."""

import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.render import render_request
from generic_api_call.template import from_plain


def query_of(rendered):
    """The query map a Request's URL carries (one value: a string, several: a list)."""
    pairs = parse_qs(urlsplit(rendered.url).query, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in pairs.items()}


BASE = "https://api.test:8443"
JSON = {"Content-Type": "application/json"}
HEADER_REFUSED = {chr(c) for c in [*range(0x00, 0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0)]}

texts = st.text()  # any code point but surrogates, control characters included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
examples = settings(max_examples=200, deadline=None)


def template(**fields):
    return from_plain({"PK": "t", "SK": fields.pop("SK", "POST"), "url": "{{ base_url }}/x", **fields})


URL_TEMPLATE = template(
    url="{{ base_url }}/users/{{ params.a }}/items/{{ params.b }}{{ params.a }}",
    query={"q": "{{ params.a }}", "page": "{{ params.b }}", "tags": ["{{ params.a }}", "x"]},
)


@examples
@given(a=texts, b=texts)
def test_url_keeps_destination_segments_and_query_keys(a, b):
    if a in {".", ".."} or b in {".", ".."}:
        with pytest.raises(RenderError, match="may not be"):
            render_request(URL_TEMPLATE, {"a": a, "b": b}, BASE)
        return
    rendered = render_request(URL_TEMPLATE, {"a": a, "b": b}, BASE)
    parts = urlsplit(rendered.url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "api.test", 8443)
    assert parts.fragment == ""  # no param can start a fragment
    assert parts.query.count("&") == 3  # nor add a query parameter: q, page, tags, tags
    segments = parts.path.split("/")
    assert len(segments) == 5
    assert [unquote(s) for s in segments] == ["", "users", a, "items", b + a]
    assert query_of(rendered) == {"q": a, "page": b, "tags": [a, "x"]}


@examples
@given(value=texts)
def test_a_param_never_chooses_the_host(value):
    with pytest.raises(InvalidTemplate):
        render_request(template(url="https://{{ params.h }}.example.test/"), {"h": value}, BASE)


@examples
@given(value=texts)
def test_headers_carry_text_or_are_refused(value):
    t = template(headers={"Authorization": "Bearer {{ params.t }}", "Accept": "application/json"})
    if HEADER_REFUSED & set(value) or any(ord(c) > 0xFF for c in value):
        with pytest.raises(RenderError, match=r"CR or LF|control characters|latin-1"):
            render_request(t, {"t": value}, BASE)
        return
    headers = render_request(t, {"t": value}, BASE).headers
    assert headers == {"Authorization": f"Bearer {value}", "Accept": "application/json"}


@examples
@given(value=json_values, text=texts)
def test_map_body_keeps_its_keys(value, text):
    body = {"value": "{{ params.v }}", "note": "x {{ params.s }} y", "nested": {"s": "{{ params.s }}"}, "fixed": 1}
    rendered = render_request(template(body=body), {"v": value, "s": text}, BASE)
    assert json.loads(rendered.body) == {"value": value, "note": f"x {text} y", "nested": {"s": text}, "fixed": 1}


@examples
@given(value=json_values, text=texts)
def test_json_string_body_with_tojson_keeps_its_keys(value, text):
    body = '{"name": {{ params.s | tojson }}, "value": {{ params.v | tojson }}, "role": "user"}'
    rendered = render_request(template(headers=JSON, body=body), {"v": value, "s": text}, BASE)
    pairs = json.loads(rendered.body, object_pairs_hook=list)
    assert [key for key, _ in pairs] == ["name", "value", "role"]
    assert json.loads(rendered.body) == {"name": text, "value": value, "role": "user"}


@examples
@given(text=texts)
def test_json_string_body_without_tojson_never_gains_keys(text):
    # Quoting by hand is unsafe, but the worst a param can do is get the request refused.
    body = '{"role": "user", "name": "{{ params.s }}", "count": {{ params.n }}}'
    try:
        rendered = render_request(template(headers=JSON, body=body), {"s": text, "n": text}, BASE)
    except RenderError:
        return
    pairs = json.loads(rendered.body, object_pairs_hook=list)
    assert [key for key, _ in pairs] == ["role", "name", "count"]
    assert pairs[0][1] == "user" and isinstance(pairs[1][1], str) and not isinstance(pairs[2][1], list | str)
