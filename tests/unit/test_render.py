"""Rendering: params stay in their slot (path segment, query value, header, JSON leaf)."""

import json
from urllib.parse import unquote, urlsplit

import pytest

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.render import check_syntax, render_request
from generic_api_call.template import from_plain

BASE = "http://api.test:8080"
HOSTILE = ['a"b\'c', "a/b", "../admin", "x&admin=1", "{{ 7*7 }}", "naïve ☃ 日本", "a?b#c", "%2F", "@evil.test"]


def template(**fields):
    return from_plain({"PK": "t", "SK": fields.pop("SK", "GET"), "url": "{{ base_url }}/x", **fields})


@pytest.mark.parametrize("value", HOSTILE)
def test_path_param_is_one_encoded_segment(value):
    rendered = render_request(template(url="{{ base_url }}/users/{{ params.id }}/items"), {"id": value}, BASE)
    parts = urlsplit(rendered.url)
    assert (parts.scheme, parts.netloc) == ("http", "api.test:8080")
    segments = parts.path.split("/")
    assert segments[1] == "users" and segments[3] == "items" and len(segments) == 4
    assert unquote(segments[2]) == value
    assert parts.query == "" and parts.fragment == ""


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_are_refused(value):
    with pytest.raises(RenderError, match="may not be"):
        render_request(template(url="{{ base_url }}/users/{{ params.id }}"), {"id": value}, BASE)


@pytest.mark.parametrize("value", HOSTILE)
def test_query_values_stay_one_value(value):
    rendered = render_request(template(query={"q": "{{ params.q }}", "page": "2"}), {"q": value}, BASE)
    assert rendered.query == {"q": value, "page": "2"}


def test_query_list_values():
    rendered = render_request(template(query={"tag": ["{{ params.a }}", "b"]}), {"a": "x&y"}, BASE)
    assert rendered.query == {"tag": ["x&y", "b"]}


@pytest.mark.parametrize("value", HOSTILE)
def test_json_body_keeps_keys_and_values(value):
    body = {"name": "{{ params.v }}", "note": "hello {{ params.v }}", "fixed": 3}
    rendered = render_request(template(SK="POST", body=body), {"v": value}, BASE)
    assert rendered.has_json_body
    assert rendered.json_body == {"name": value, "note": f"hello {value}", "fixed": 3}
    assert json.loads(json.dumps(rendered.json_body)) == rendered.json_body


def test_single_expression_keeps_json_type():
    body = {"items": "{{ params.items }}", "count": "{{ params.items | length }}", "flag": "{{ params.flag }}"}
    params = {"items": ["a", {"b": 1}], "flag": True}
    rendered = render_request(template(SK="POST", body=body), params, BASE)
    assert rendered.json_body == {"items": ["a", {"b": 1}], "count": 2, "flag": True}


def test_param_named_like_a_dict_method():
    rendered = render_request(template(SK="POST", body={"v": "{{ params.items }}"}), {"items": [1]}, BASE)
    assert rendered.json_body == {"v": [1]}


def test_params_cannot_add_body_keys():
    rendered = render_request(template(SK="POST", body={"name": "{{ params.n }}"}), {"n": 'a","role":"admin'}, BASE)
    assert list(rendered.json_body) == ["name"]
    assert rendered.json_body["name"] == 'a","role":"admin'


def test_string_body_declared_json_must_parse():
    t = template(SK="POST", headers={"Content-Type": "application/json"}, body='{"name": "{{ params.n }}"}')
    assert render_request(t, {"n": "ok"}, BASE).text_body == '{"name": "ok"}'
    with pytest.raises(RenderError, match="does not parse"):
        render_request(t, {"n": 'a"b'}, BASE)
    safe = template(SK="POST", headers={"Content-Type": "application/json"}, body='{"name": {{ params.n | tojson }}}')
    assert json.loads(render_request(safe, {"n": 'a"b'}, BASE).text_body) == {"name": 'a"b'}


@pytest.mark.parametrize("value", ["a\r\nX-Admin: 1", "a\nb", "a\rb"])
def test_header_injection_is_refused(value):
    with pytest.raises(RenderError, match="CR or LF"):
        render_request(template(headers={"X-Token": "{{ params.t }}"}), {"t": value}, BASE)


def test_missing_param_names_the_param():
    with pytest.raises(RenderError, match="missing param 'user_id'"):
        render_request(template(url="{{ base_url }}/u/{{ params.user_id }}"), {}, BASE)


def test_missing_param_in_body_expression():
    with pytest.raises(RenderError, match="missing param 'items'"):
        render_request(template(SK="POST", body={"items": "{{ params.items }}"}), {}, BASE)


def test_default_filter_fills_optional_params():
    rendered = render_request(template(query={"lang": "{{ params.lang | default('en') }}"}), {}, BASE)
    assert rendered.query == {"lang": "en"}


@pytest.mark.parametrize("source", [
    "{{ params.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ params.x.__class__.__base__.__subclasses__() }}",
    "{{ (params|attr('__class__')) }}",
    "{{ 'a{0.__class__}'.format(params) }}",
])
def test_sandbox_blocks_introspection(source):
    with pytest.raises(RenderError):
        render_request(template(SK="POST", body={"v": f"x {source}"}), {"x": "s"}, BASE)


def test_syntax_error_is_an_invalid_template():
    with pytest.raises(InvalidTemplate, match="url: Jinja syntax error"):
        check_syntax(template(url="{{ base_url }}/{{ params.x "))


def test_url_must_stay_http():
    with pytest.raises(RenderError, match="absolute http"):
        render_request(template(url="file:///etc/{{ params.x }}"), {"x": "passwd"}, BASE)


def test_params_must_be_a_map():
    with pytest.raises(RenderError, match="params must be a map"):
        render_request(template(), ["a"], BASE)  # type: ignore[arg-type]
