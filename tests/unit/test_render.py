"""Rendering: params stay in their slot (path segment, query value, header, JSON leaf)."""

import json
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from generic_api_call.errors import InvalidTemplate, RenderError, SecretNotAllowed
from generic_api_call.limits import MAX_RENDERED_CHARS, MAX_REQUEST_CHARS
from generic_api_call.render import check_syntax, render_request
from generic_api_call.template import from_plain


def query_of(rendered):
    """The query map a Request's URL carries (one value: a string, several: a list)."""
    pairs = parse_qs(urlsplit(rendered.url).query, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in pairs.items()}


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
    assert query_of(rendered) == {"q": value, "page": "2"}


def test_query_list_values():
    rendered = render_request(template(query={"tag": ["{{ params.a }}", "b"]}), {"a": "x&y"}, BASE)
    assert query_of(rendered) == {"tag": ["x&y", "b"]}


@pytest.mark.parametrize("value", HOSTILE)
def test_json_body_keeps_keys_and_values(value):
    body = {"name": "{{ params.v }}", "note": "hello {{ params.v }}", "fixed": 3}
    rendered = render_request(template(SK="POST", body=body), {"v": value}, BASE)
    assert rendered.header("Content-Type") == "application/json"
    assert json.loads(rendered.body) == {"name": value, "note": f"hello {value}", "fixed": 3}
    assert json.loads(json.dumps(json.loads(rendered.body))) == json.loads(rendered.body)


def test_single_expression_keeps_json_type():
    body = {"items": "{{ params.items }}", "count": "{{ params.items | length }}", "flag": "{{ params.flag }}"}
    params = {"items": ["a", {"b": 1}], "flag": True}
    rendered = render_request(template(SK="POST", body=body), params, BASE)
    assert json.loads(rendered.body) == {"items": ["a", {"b": 1}], "count": 2, "flag": True}


def test_param_named_like_a_dict_method():
    rendered = render_request(template(SK="POST", body={"v": "{{ params.items }}"}), {"items": [1]}, BASE)
    assert json.loads(rendered.body) == {"v": [1]}


def test_params_cannot_add_body_keys():
    rendered = render_request(template(SK="POST", body={"name": "{{ params.n }}"}), {"n": 'a","role":"admin'}, BASE)
    assert list(json.loads(rendered.body)) == ["name"]
    assert json.loads(rendered.body)["name"] == 'a","role":"admin'


def test_string_body_declared_json_must_parse():
    t = template(SK="POST", headers={"Content-Type": "application/json"}, body='{"name": "{{ params.n }}"}')
    assert render_request(t, {"n": "ok"}, BASE).body == '{"name": "ok"}'
    with pytest.raises(RenderError, match="does not parse"):
        render_request(t, {"n": 'a"b'}, BASE)
    safe = template(SK="POST", headers={"Content-Type": "application/json"}, body='{"name": {{ params.n | tojson }}}')
    assert json.loads(render_request(safe, {"n": 'a"b'}, BASE).body) == {"name": 'a"b'}


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
    assert query_of(rendered) == {"lang": "en"}


@pytest.mark.parametrize("source", [
    "{{ params.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ params.x.__class__.__base__.__subclasses__() }}",
    "{{ 'a{0.__class__}'.format(params) }}",
])
def test_sandbox_blocks_introspection(source):
    with pytest.raises(RenderError):
        render_request(template(SK="POST", body={"v": f"x {source}"}), {"x": "s"}, BASE)


def test_attr_filter_is_refused_when_compiling():
    # `attr` is not on the filter allow-list (CVE-2025-27516), so the template itself is invalid.
    t = template(SK="POST", body={"v": "x {{ (params|attr('__class__')) }}"})
    with pytest.raises(InvalidTemplate, match="filter 'attr' is not allowed"):
        check_syntax(t)
    with pytest.raises(InvalidTemplate, match="filter 'attr' is not allowed"):
        render_request(t, {"x": "s"}, BASE)


def test_syntax_error_is_an_invalid_template():
    with pytest.raises(InvalidTemplate, match="url: Jinja syntax error"):
        check_syntax(template(url="{{ base_url }}/{{ params.x "))


def test_url_must_stay_http():
    with pytest.raises(InvalidTemplate, match="absolute http"):
        render_request(template(url="file:///etc/{{ params.x }}"), {"x": "passwd"}, BASE)


def test_params_must_be_a_map():
    with pytest.raises(RenderError, match="params must be a map"):
        render_request(template(), ["a"], BASE)  # type: ignore[arg-type]


# --- caps: every one of these must fail fast with RenderError (timings: see the report) ---

BOMBS = {
    "huge range": "{% for i in range(10**9) %}x{% endfor %}",
    "nested range, no output": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested range, output": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    "nested param lists": "{% set l = params.l %}{% for a in l %}{% for b in l %}{% for c in l %}{% endfor %}"
                          "{% endfor %}{% endfor %}",
    "string repeat": "{{ 'x' * 10**9 }}",
    "list repeat": "{{ ['x'] * 10**9 }}",
    "big power": "{{ 10 ** (10 ** 8) }}",
    "integer doubling": "{% set n = 10**300 %}" + "{% set n = n * n %}" * 30 + "{{ n }}",
    "nested list doubling": "{% set a = ['x' * 60000] %}" + "{% set a = [a, a] %}" * 40 + "{{ a }}",
    "tilde doubling": "{% set a = 'x' * 60000 %}" + "{% set a = a ~ a %}" * 40 + "{{ a | length }}",
    "macro fan-out": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% else %}x{% endif %}{% endmacro %}"
                     "{{ f(40) }}",
    "macro recursion": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "set block in a loop": "{% set x %}{% for i in range(100000) %}" + "y" * 1000 + "{% endfor %}{% endset %}{{ x }}",
    "replace amplification": "{% set s = 'x' * 60000 %}{{ s | replace('x', s) | length }}",
    "join amplification": "{{ range(60000) | join('x' * 60000) }}",
    "printf width": "{{ '%0999999999d' % 5 }}",
    "tojson indent": "{{ [[[1]]] | tojson(indent=10**9) }}",
    "sort in a loop": "{% set l = range(100000) | list %}{% for i in range(1000) %}{{ l | sort | length }}{% endfor %}",
}


@pytest.mark.parametrize("source", BOMBS.values(), ids=BOMBS.keys())
def test_resource_bombs_fail_with_render_error(source):
    params = {"l": list(range(1000))}
    for t in (template(SK="POST", body=f"x {source}"), template(SK="POST", body={"v": source})):
        with pytest.raises(RenderError):
            render_request(t, params, BASE)


def test_power_is_left_associative_in_jinja():
    # Jinja parses `10 ** 10**8` as (10 ** 10) ** 8: small, so it renders.
    rendered = render_request(template(SK="POST", body="{{ 10 ** 10**8 }}"), {}, BASE)
    assert rendered.body == str(10**80)


def test_a_field_is_capped():
    t = template(headers={"X-Big": "{{ params.v }}"})
    assert render_request(t, {"v": "x" * MAX_RENDERED_CHARS}, BASE).headers["X-Big"] == "x" * MAX_RENDERED_CHARS
    with pytest.raises(RenderError, match=f"headers.X-Big: rendered value exceeds {MAX_RENDERED_CHARS} characters"):
        render_request(t, {"v": "x" * (MAX_RENDERED_CHARS + 1)}, BASE)


def test_the_whole_request_is_capped():
    headers = {f"X-{i}": "{{ params.v }}" for i in range(4)}
    with pytest.raises(RenderError, match=f"rendered request exceeds {MAX_REQUEST_CHARS} characters"):
        render_request(template(headers=headers), {"v": "x" * 60_000}, BASE)


def test_a_json_leaf_is_capped():
    t = template(SK="POST", body={"items": "{{ params.items }}"})
    with pytest.raises(RenderError, match=r"body\.items: rendered value exceeds"):
        render_request(t, {"items": ["x" * 1000] * 100}, BASE)


def test_loops_and_filters_within_the_caps_work():
    body = ("{% for item in params.items %}{{ item.id | string | upper }}{% if not loop.last %},{% endif %}"
            "{% endfor %}|{{ params.items | map(attribute='id') | join('-') }}|{{ 'ab' ~ 'cd' }}")
    rendered = render_request(template(SK="POST", body=body), {"items": [{"id": i} for i in range(500)]}, BASE)
    ids = [str(i) for i in range(500)]
    assert rendered.body == f"{','.join(ids)}|{'-'.join(ids)}|abcd"


def test_a_refused_value_inside_a_list_is_not_printed():
    with pytest.raises(RenderError, match="missing param 'nope'"):
        render_request(template(SK="POST", body="{{ [params.nope] }}"), {}, BASE)


# --- the destination belongs to the template -----------------------------------------------

@pytest.mark.parametrize("url", [
    "http://{{ params.host }}.example.com/",
    "{{ params.scheme }}://api.test/x",
    "http://api.test:{{ params.port }}/x",
    "{% if params.env == 'prod' %}https://prod.test{% else %}https://dev.test{% endif %}/x",
    "http://api{{ params.host | length }}.test/",
    # issue 8, defect 7: params picking between hosts the template names, by list length
    "{% if params.ids|length > 1 %}http://a.test{% else %}http://b.test{% endif %}/x",
    "http://{% if params.flag %}a{% else %}b{% endif %}.test/x",
    "{{ base_url }}{{ params.port }}/x",
    "{{ base_url }}.evil.test/x",
    "http://user:{{ params.p }}@api.test/x",
    "http://api.test{# c #}/x",
])
def test_params_cannot_choose_the_destination(url):
    params = {"host": "evil", "scheme": "https", "port": "8443", "env": "prod", "ids": [1, 2], "flag": True, "p": "x"}
    with pytest.raises(InvalidTemplate, match="params may not choose the destination"):
        check_syntax(template(url=url))
    with pytest.raises(InvalidTemplate, match="params may not choose the destination"):
        render_request(template(url=url), params, BASE)


@pytest.mark.parametrize("url", ["http://u:p@api.test/x", "{{ base_url }}/x"])
def test_userinfo_is_refused(url):
    # requests would send user:password as a base64 Basic header, a form masking cannot find.
    with pytest.raises(InvalidTemplate, match="user:password"):
        render_request(template(url=url), {}, "http://u:p@api.test")
    with pytest.raises(InvalidTemplate, match="user:password"):
        render_request(template(url="http://u:p@api.test/x"), {}, BASE)


def test_a_literal_origin_is_accepted():
    assert render_request(template(url="https://dev.test:8443/x/{{ params.id }}"), {"id": "1"}, BASE).url == (
        "https://dev.test:8443/x/1")


@pytest.mark.parametrize("value", ["@evil.test", "//evil.test", ":99", "evil.test#", "?x=1", "\\\\evil", "a b"])
def test_destination_lookalikes_stay_in_the_path(value):
    rendered = render_request(template(url="{{ base_url }}/u/{{ params.id }}"), {"id": value}, BASE)
    parts = urlsplit(rendered.url)
    assert (parts.scheme, parts.hostname, parts.port) == ("http", "api.test", 8080)
    assert unquote(parts.path) == f"/u/{value}" and not parts.query and not parts.fragment


def test_a_percent_encoded_host_is_refused():
    with pytest.raises(InvalidTemplate, match="must start with"):
        render_request(template(url="http://{{ 'a b' }}.test/x"), {}, BASE)


def test_params_may_shape_the_path_through_conditions():
    t = template(url="{{ base_url }}/{% if params.v2 %}v2{% else %}v1{% endif %}/{{ params.id }}")
    assert render_request(t, {"v2": True, "id": "7"}, BASE).url == f"{BASE}/v2/7"


# --- JSON string bodies keep the template's structure --------------------------------------

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(("body", "value"), [
    ('{"name": "{{ params.n }}", "role": "user"}', 'a","role":"admin'),
    ('{"role": "user", "name": "{{ params.n }}"}', 'x", "role": "admin'),  # a duplicate key would win
    ('{"name": "{{ params.n }}"}', 'a", "extra": {"k": 1}, "z": "'),
    ('{"ids": [{{ params.n }}]}', "1, 2"),
    ('{"count": {{ params.n }}}', '{"admin": true}'),  # only |tojson may insert an object
    ('{"count": {{ params.n }}}', '"text"'),
    ('{"count": {{ params.n }}}', "[1]"),
])
def test_params_cannot_change_a_json_string_body(body, value):
    t = template(SK="POST", headers=JSON, body=body)
    check_syntax(t)
    with pytest.raises(RenderError, match=r"(changed the JSON structure|does not parse)"):
        render_request(t, {"n": value}, BASE)


def test_tojson_values_may_be_any_json():
    body = ('{# ok #}{"name": {{ params.n | tojson }}, "items": {{ params.items|tojson() }}, "n": {{ params.k }}, '
            '"s": "{{ params.m }}"}')
    params = {"n": 'a","role":"admin', "items": [{"id": 1, "tags": ["x"]}], "m": "plain", "k": 3}
    rendered = render_request(template(SK="POST", headers=JSON, body=body), params, BASE)
    assert json.loads(rendered.body) == {"name": params["n"], "items": params["items"], "n": 3, "s": "plain"}


@pytest.mark.parametrize("body", [
    '{% for i in params.items %}{"i": {{ i }}}{% endfor %}',
    '{"a": 1{% if params.x %}, "b": 2{% endif %}}',
    '{"a": {{ params.a }}',
])
def test_a_json_string_body_must_be_json_with_values(body):
    t = template(SK="POST", headers=JSON, body=body)
    with pytest.raises(InvalidTemplate, match="must be valid JSON with"):
        check_syntax(t)
    with pytest.raises(InvalidTemplate, match="use a map body"):
        render_request(t, {"items": [1], "x": True, "a": 1}, BASE)


def test_a_text_body_is_not_checked_as_json():
    t = template(SK="POST", headers={"Content-Type": "text/plain"}, body="{% for i in range(3) %}{{ i }}{% endfor %}")
    assert render_request(t, {}, BASE).body == "012"


# --- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["a\x00b", "a\x7fb", "a\x1bb", "a\x0bb"])
def test_header_control_characters_are_refused(value):
    with pytest.raises(RenderError, match="control characters"):
        render_request(template(headers={"X-Token": "{{ params.t }}"}), {"t": value}, BASE)


def test_header_tab_is_allowed():
    assert render_request(template(headers={"X-T": "a\t{{ params.t }}"}), {"t": "b"}, BASE).headers == {"X-T": "a\tb"}


# --- secrets ---------------------------------------------------------------------------------

class Resolver:
    def __init__(self, values):
        self.values, self.calls = values, []

    def __call__(self, name):
        self.calls.append(name)
        return self.values[name]


def secret_template(**fields):
    return from_plain({"PK": "with_secret", "SK": fields.pop("SK", "POST"), "url": "{{ base_url }}/x",
                       "secrets": ["token", "key"], **fields})


def test_secrets_render_everywhere_and_are_reported():
    t = secret_template(
        url="{{ base_url }}/k/{{ secret('key') }}",
        headers={"Authorization": "Bearer {{ secret('token') }}"},
        query={"k": "{{ secret('key') }}"},
        body={"token": "{{ secret('token') }}", "note": "t={{ secret('token') }}", "j": "{{ secret('key')|tojson }}"},
    )
    resolver = Resolver({"token": "s3cr3t", "key": "a/b/c"})
    rendered = render_request(t, {}, BASE, secret_resolver=resolver)
    assert rendered.url == f"{BASE}/k/a%2Fb%2Fc?k=a%2Fb%2Fc"  # still one encoded segment
    assert rendered.headers == {"Authorization": "Bearer s3cr3t", "Content-Type": "application/json"}
    assert json.loads(rendered.body) == {"token": "s3cr3t", "note": "t=s3cr3t", "j": '"a/b/c"'}
    assert sorted(rendered.secrets.values) == ["a/b/c", "s3cr3t"]
    assert sorted(resolver.calls) == ["key", "token"]  # resolved once each
    masked = json.dumps(rendered.masked())
    assert "s3cr3t" not in masked and "a/b/c" not in masked and "a%2Fb%2Fc" not in masked


def test_no_secret_values_without_secrets():
    assert render_request(template(), {}, BASE).secrets.values == ()


@pytest.mark.parametrize("source", [
    "{{ secret('other') }}",
    "{% for i in [1] %}{{ secret('other') }}{% endfor %}",
    "{{ secret('other') | tojson }}",
])
def test_a_secret_outside_the_list_is_refused_as_itself(source):
    resolver = Resolver({"other": "do-not-show"})
    with pytest.raises(SecretNotAllowed) as caught:
        render_request(secret_template(body={"v": source}), {"name": "other"}, BASE, secret_resolver=resolver)
    assert "'other'" in str(caught.value) and "'with_secret'" in str(caught.value)
    assert "do-not-show" not in str(caught.value) and resolver.calls == []
    with pytest.raises(SecretNotAllowed):  # and when the template is validated (seed, dry run)
        check_syntax(secret_template(body={"v": source}))


@pytest.mark.parametrize("source", [
    # issue 8, defect 1: a template may place a secret whole, never transform it
    "{{ secret('token')[:3] }}",
    "{{ secret('token') | default('x') }}",
    "{{ secret('token') | upper }}",
    "{{ secret('token') | tojson | upper }}",
    "{{ 'Bearer ' ~ secret('token') }}",
    "{{ secret('token') == 'abc' }}",
    "{% if secret('token').startswith('a') %}a{% endif %}",
    "{% set s = secret('token') %}{{ s }}",
    "{% set s %}{{ secret('token') }}{% endset %}{{ s[:3] }}",
    "{% macro m() %}{{ secret('token') }}{% endmacro %}{{ m()[:3] }}",
    "{% filter lower %}{{ secret('token') }}{% endfilter %}",
    "{{ secret(params.name) }}",
    "{{ secret('to' ~ 'ken') }}",
    "{% set f = secret %}{{ f('token') }}",
])
def test_a_secret_can_only_be_placed_whole(source):
    with pytest.raises(InvalidTemplate, match="secret"):
        check_syntax(secret_template(body={"v": f"x {source}"}))


def test_secret_without_a_resolver():
    with pytest.raises(RenderError, match="no secret resolver"):
        render_request(secret_template(headers={"Authorization": "{{ secret('token') }}"}), {}, BASE)


def test_resolver_errors_are_render_errors_naming_the_slot():
    class Unavailable(Exception):
        pass

    def resolver(name):
        raise Unavailable(name)

    with pytest.raises(RenderError, match=r"headers\.A: Unavailable"):
        render_request(secret_template(headers={"A": "{{ secret('token') }}"}), {}, BASE, secret_resolver=resolver)
