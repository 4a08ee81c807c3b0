"""Nesting that Python's compiler refuses is an InvalidTemplate naming the field (issue 20, defect 4).

Jinja compiles a template to Python code; Python allows 20 nested loops, 100 indentation
levels and 200 nested brackets. 21 nested `{% for %}` failed with Python's own SyntaxError
(the execution's Error was `SyntaxError`, with the seed's traceback), not InvalidTemplate.
"""

from __future__ import annotations

import pytest

from generic_api_call.errors import InvalidTemplate
from generic_api_call.handler import lambda_handler
from generic_api_call.limits import MAX_BLOCK_NESTING, MAX_TEMPLATE_DEPTH
from generic_api_call.render import check_syntax
from generic_api_call.template import from_plain
from testbed.deploy.templates import to_item
from tests.servers import LambdaContext


def nested(opening: str, closing: str, times: int, inner: str = "x") -> str:
    return opening * times + inner + closing * times


TOO_DEEP = {
    "for_21": nested("{% for i in [1] %}", "{% endfor %}", 21),  # the report's: Python's SyntaxError
    "if_100": nested("{% if 1 %}", "{% endif %}", 100),  # Python's IndentationError
    "filters_200": "{{ 1" + "|abs" * 200 + " }}",  # Python's "too many nested parentheses", after 3.5 s
    "attributes_200": "{{ params" + ".a" * 200 + " }}",
}


def post(body: str) -> dict[str, object]:
    return {"PK": "nested", "SK": "POST", "url": "http://127.0.0.1:9/x", "body": body}


@pytest.mark.parametrize("name", TOO_DEEP)
def test_deep_nesting_is_an_invalid_template_naming_the_field(name):
    with pytest.raises(InvalidTemplate, match=r"^body: .*nested over \d+ .*deep"):
        check_syntax(from_plain(post(TOO_DEEP[name])))


def test_deep_nesting_in_a_body_map_leaf_names_the_leaf():
    template = from_plain({**post(""), "body": {"a": [TOO_DEEP["for_21"]], "b": "{{ 1" + "|abs" * 200 + " }}"}})
    with pytest.raises(InvalidTemplate, match=r"^body\.a\[0\]: \{% for %\} at line 1 is nested over 10 blocks"):
        check_syntax(template)


def test_the_limits_leave_room_and_are_exact():
    check_syntax(from_plain(post(nested("{% for i in [1] %}", "{% endfor %}", MAX_BLOCK_NESTING))))
    with pytest.raises(InvalidTemplate, match="nested over 10 blocks"):
        check_syntax(from_plain(post(nested("{% if 1 %}", "{% endif %}", MAX_BLOCK_NESTING + 1))))
    check_syntax(from_plain(post("{{ 1" + "|abs" * (MAX_TEMPLATE_DEPTH - 3) + " }}")))  # Template > Output > Filter...
    with pytest.raises(InvalidTemplate, match="nested over 50 levels"):
        check_syntax(from_plain(post("{{ 1" + "|abs" * MAX_TEMPLATE_DEPTH + " }}")))


def test_the_handler_reports_invalid_template_not_syntax_error():
    event = {"template": to_item(post(TOO_DEEP["for_21"])), "params": {}}
    with pytest.raises(InvalidTemplate, match=r"^body: \{% for %\} at line 1 is nested over 10 blocks") as caught:
        lambda_handler(event, LambdaContext())
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no traceback of the compiler


def test_python_refusing_the_code_is_still_an_invalid_template(monkeypatch):
    # The backstop: should the nesting limits ever let through what Python's compiler refuses.
    from generic_api_call import compiling

    monkeypatch.setattr(compiling, "MAX_BLOCK_NESTING", 1000)
    with pytest.raises(InvalidTemplate, match=r"^body: template too complex to compile \(too many statically nested"):
        check_syntax(from_plain(post(TOO_DEEP["for_21"] + "{# not cached #}")))
