"""The render budgets hold for every construct the sandbox allows (issue 8, defect 3).

Each hostile template must end in RenderError within the documented time and well under
the Lambda's 256 MB, measured with tracemalloc (which also slows rendering: the bounds
below are generous on purpose, and the figures are printed).
"""

from __future__ import annotations

import threading
import time
import tracemalloc

import pytest

from generic_api_call import budget
from generic_api_call.errors import RenderError
from generic_api_call.limits import MAX_RENDER_SECONDS
from generic_api_call.render import render_request
from generic_api_call.template import from_plain

BIG = "{% set s = 'x' * 60000 %}"
LOOP = "{% for i in range(99999) %}"
HOSTILE = {
    # comparisons were not counted: two lists doubled 40 times, then compared
    "compare": "{% set a = [1] %}{% set b = [1] %}" + "{% set a = [a, a] %}{% set b = [b, b] %}" * 40 + "{{ a == b }}",
    "hash": "{% set t = (1,) %}" + "{% set t = (t, t) %}" * 40 + "{{ {t: 1} }}",
    "membership": "{% set a = [1] %}" + "{% set a = [a, a] %}" * 40 + "{{ a in [a] }}",
    # output buffered in a block was measured only when joined
    "set_block": BIG + "{% set y %}" + LOOP + "{{ s ~ i }}{% endfor %}{% endset %}",
    "macro": BIG + "{% macro m() %}" + LOOP + "{{ s ~ i }}{% endfor %}{% endmacro %}{{ m()|length }}",
    "filter_block": BIG + "{% filter length %}" + LOOP + "{{ s ~ i }}{% endfor %}{% endfilter %}",
    "call_block": BIG + "{% macro m() %}{{ caller()|length }}{% endmacro %}{% call m() %}" + LOOP
    + "{{ s ~ i }}{% endfor %}{% endcall %}",
    "literal_text": "{% set y %}" + LOOP + "abcdefgh" * 100 + "{% endfor %}{% endset %}",
    "empty_outputs": "{% set y %}" + LOOP + "{{ '' }}{{ '' }}{{ '' }}{{ '' }}{% endfor %}{% endset %}",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_template_ends_in_render_error_in_time_and_memory(name):
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://api.test/x", "body": HOSTILE[name]})
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(RenderError) as caught:
            render_request(template, {}, "http://api.test")
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"{name}: {elapsed:.2f}s, peak {peak / 2**20:.1f} MiB: {caught.value}")
    assert elapsed < MAX_RENDER_SECONDS + 2.0
    assert peak < 64 * 2**20


def test_the_budgets_leave_room_for_real_templates():
    body = ("{% for item in params.items %}{{ item.id }}:{{ item.name | upper }}"
            "{% if not loop.last %},{% endif %}{% endfor %}")
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://api.test/x", "body": body})
    items = [{"id": i, "name": f"n{i}"} for i in range(5000)]
    assert render_request(template, {"items": items}, "http://api.test").body.startswith("0:N0,1:N1")


def test_waiting_on_the_secret_store_does_not_count_against_the_render_deadline(monkeypatch):
    # Seen under load: a cold Lambda worker creating its SSM client took over 2 s, and a plain
    # `Bearer {{ secret(...) }}` header failed as "takes too long to render" (not retried).
    monkeypatch.setattr(budget, "MAX_RENDER_SECONDS", 0.05)

    def slow_store(name: str) -> str:  # a slow network or a cold client: 0.3 s, the deadline 0.05 s
        threading.Event().wait(0.3)
        return "s3cr3t-value-" + name[-1]

    template = from_plain({"PK": "t", "SK": "GET", "url": "http://api.test/x", "secrets": ["ssm:/t/a", "ssm:/t/b"],
                           "headers": {"A": "{{ secret('ssm:/t/a') }}", "B": "{{ secret('ssm:/t/b') }}"}})
    request = render_request(template, {}, "http://api.test", slow_store)
    assert request.headers == {"A": "s3cr3t-value-a", "B": "s3cr3t-value-b"}


def test_the_deadline_still_bounds_the_work_after_a_slow_secret(monkeypatch):
    monkeypatch.setattr(budget, "MAX_RENDER_SECONDS", 0.05)

    def slow_store(name: str) -> str:
        threading.Event().wait(0.3)
        return "s3cr3t-value"

    body = "{{ secret('ssm:/t/a') }}{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://api.test/x", "secrets": ["ssm:/t/a"], "body": body})
    with pytest.raises(RenderError, match=r"too long to render|too much work"):
        render_request(template, {}, "http://api.test", slow_store)


# --- |round's precision (issue 20, defect 3) ------------------------------------------------------
# Python computes 10**precision in one C call, which no deadline check interrupts: round(5, -30000000)
# rendered for 52 s; 'ceil' and 'floor' build 10**precision for a positive precision too.

@pytest.mark.parametrize(("source", "params"), [
    ("{{ 5|round(-3000000) }}", {}),  # a tenth of the report's, so the test ends without the fix too
    ("{{ 5|round(params.digits, 'ceil') }}", {"digits": 3_000_000}),
    ("{{ 5|round(precision=params.digits, method='floor') }}", {"digits": 3_000_000}),
    ("{{ [5]|map('round', params.digits)|list }}", {"digits": -3_000_000}),
    ("{{ 5|round(params.digits) }}", {"digits": "3"}),
])
def test_round_with_a_huge_precision_fails_fast_naming_the_filter(source, params):
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://api.test/x", "body": source})
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"^body: round: the precision must be a whole number from -20 to 20"):
        render_request(template, params, "http://api.test")
    assert time.monotonic() - started < 0.5


def test_round_keeps_working_within_its_bounds():
    template = from_plain({"PK": "t", "SK": "POST", "url": "http://api.test/x",
                           "body": "{{ 1234.5678|round(2) }} {{ 1234|round(-2, 'ceil') }} {{ 2.6|round }}"})
    assert render_request(template, {}, "http://api.test").body == "1234.57 1300.0 3.0"
