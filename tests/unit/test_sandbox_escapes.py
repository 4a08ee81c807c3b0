"""Known Jinja sandbox escapes: each must fail (RenderError, or InvalidTemplate when the
template is refused at compile time) and never render. One regression test per technique."""

import json

import jinja2
import pytest
from jinja2.defaults import DEFAULT_NAMESPACE

from generic_api_call.errors import InvalidTemplate, RenderError
from generic_api_call.render import check_syntax, render_request
from generic_api_call.sandbox import ALLOWED_FILTERS, ALLOWED_GLOBALS, ENVIRONMENTS
from generic_api_call.template import from_plain

BASE = "http://api.test:8080"
PARAMS = {"x": "s", "n": 1, "items": ["a"], "user": {"name": "n"}}
REFUSED = (RenderError, InvalidTemplate)


def template(**fields):
    return from_plain({"PK": "t", "SK": fields.pop("SK", "POST"), "url": "{{ base_url }}/x", **fields})


def assert_refused(source: str) -> None:
    """The source must fail in every slot a template can put it: text body, JSON leaf, URL, header."""
    for t in (
        template(body=f"x {source}"),
        template(body={"v": source}),
        template(url=f"{{{{ base_url }}}}/{source}"),
        template(headers={"X-Test": source}),
    ):
        with pytest.raises(REFUSED):
            render_request(t, PARAMS, BASE)


def test_jinja_is_patched_for_the_known_sandbox_cves():
    # 3.1.5 fixed CVE-2024-56326 (indirect str.format), 3.1.6 CVE-2025-27516 (|attr('format')).
    version = tuple(int(part) for part in jinja2.__version__.split(".")[:3])
    assert version >= (3, 1, 6)


@pytest.mark.parametrize("source", [
    # str.format / format_map walk attributes of their arguments.
    "{{ '{0.__class__}'.format(params) }}",
    "{{ '{0.__class__.__mro__}'.format(params) }}",
    "{{ 'a'.format_map(params) }}",
    "{{ '{x.__class__}'.format_map(params) }}",
    # CVE-2024-56326: keep a reference to str.format and call it later.
    "{% set f = '{0.__class__.__base__.__subclasses__}'.format %}{{ f(params) }}",
    "{{ x.format }}",
    "{% set f = params.x.format %}{{ f('{0.__globals__}', params) }}",
    "{{ ('{0.__class__}'.format)(params) }}",
    "{{ ['{0.__class__}'] | map(attribute='format') | first }}",
    "{{ (['{0.__class__}'] | map(attribute='format') | first)(params) }}",
    "{{ '{0.__class__}'['format'](params) }}",
    # dunder access, directly and through items
    "{{ params.__class__ }}",
    "{{ params['__class__'] }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''['__class__'] }}",
    "{{ params.x.__class__.__base__.__subclasses__() }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ (1).__class__.__mro__ }}",
    "{{ secret.__globals__ }}",
    "{{ secret.__globals__['__builtins__'] }}",
    "{{ range.__globals__ }}",
    "{{ range.__class__ }}",
    "{{ params.__init__ }}",
    "{{ params.__init__.__globals__['__builtins__'] }}",
    "{{ self.__init__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{% for i in [1] %}{{ loop.__class__ }}{% endfor %}",
    "{% for i in [1] %}{{ loop._iterator }}{% endfor %}",
    "{{ params.x.__add__ }}",
    "{{ ['a'] | map(attribute='__class__') | first }}",
    "{{ ['a', 'b'] | sort(attribute='__class__') }}",
    "{{ ['a'] | map(attribute='__class__') | list }}",
    # removed globals
    "{{ cycler('a', 'b').next() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner() }}",
    "{{ lipsum() }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ namespace(a=1) }}",
    "{{ dict(a=1) }}",
    "{{ config }}",
    "{{ request }}",
    # methods outside the attribute allow-list
    "{{ 'x'.ljust(10) }}",
    "{{ (5).to_bytes(4, 'big') }}",
    "{{ 'x'.encode() }}",
    "{{ params.items() }}",
    "{{ params.x.join(['a']) }}",
    # mutation of the params (the sandbox is immutable)
    "{{ params['items'].append(1) }}",
    "{{ params.update({'x': 1}) }}",
])
def test_escape_is_refused(source):
    assert_refused(source)


@pytest.mark.parametrize("source", [
    "{{ params | attr('__class__') }}",
    "{{ params.x | attr('format') }}",  # CVE-2025-27516
    "{{ '{0.__class__}' | format(params) }}",
    "{{ params.items | selectattr('x') | list }}",
    "{{ params.items | select('odd') | list }}",
    "{{ params.x | indent(1000) }}",
    "{{ params.x | center(1000) }}",
    "{{ params.items | batch(2) | list }}",
    "{{ params.x | safe }}",
    "{{ params.x | xmlattr }}",
    "{{ params.x | not_a_filter }}",
    "{% if false %}{{ params.x | attr('format') }}{% endif %}",  # Jinja would defer this to run time
    "{% filter attr('x') %}x{% endfilter %}",
    "{{ 1 is divisibleby 1 }}",
    "{{ params.x is lower }}",
    "{{ params.x is callable }}",
    "{% include 'other' %}",
    "{% import 'other' as o %}",
    "{% from 'other' import f %}",
    "{% extends 'base' %}",
    "{% for i in [1] recursive %}{{ loop([]) }}{% endfor %}",
])
def test_refused_at_compile_time(source):
    t = template(body={"v": f"x {source}"})
    with pytest.raises(InvalidTemplate, match=r"body\.v: "):
        check_syntax(t)
    with pytest.raises(InvalidTemplate):
        render_request(t, PARAMS, BASE)


def test_allowed_globals_are_the_only_ones():
    # What the environments really hold, not the constant that documents them (issue 10).
    for environment in ENVIRONMENTS.values():
        assert set(environment.globals) == set(ALLOWED_GLOBALS) == {"range", "secret"}


@pytest.mark.parametrize("name", sorted(set(DEFAULT_NAMESPACE) - {"range"}))  # range: the sandbox's, capped
def test_jinjas_default_globals_are_undefined_when_rendered(name):
    with pytest.raises(RenderError, match="undefined"):
        render_request(template(body=f"{{{{ {name} }}}}"), PARAMS, BASE)


def test_removed_filters_are_not_on_the_allow_list():
    assert not {"attr", "format", "select", "reject", "selectattr", "rejectattr", "indent", "safe"} & ALLOWED_FILTERS


def test_format_methods_are_refused_even_when_not_called():
    # A reference that is only tested, not printed, must not give access either.
    t = template(body={"v": "{{ params.x.format is defined }}"})
    assert json.loads(render_request(t, PARAMS, BASE).body) == {"v": False}
