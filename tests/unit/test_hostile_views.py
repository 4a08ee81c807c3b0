"""Hostile stored strings through every view (issue 20, defects 2 and 3): no markup read, no
control character reaching the terminal, no crash on deeply nested JSON."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from testbed import settings
from testbed.runs import dryrun, timeline_sources, timeline_view
from testbed.runs.inert import inert, json_text
from testbed.runs.stored_json import DEPTH_LIMIT
from testbed.runs.timeline import Timeline, build
from tests.unit.test_timeline import ARN, DESCRIBED, FAILING_HISTORY, T0, entered, event

HOSTILE = [
    "[/]",
    "[link=http://x]a[/link]",
    "[bold red]x",
    "\x1b[2J\x1b[H\x1b[31mred",
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",  # an OSC 8 hyperlink
    "\x07bell",
    "a\rb",
    "\u202eevil",  # bidi override
    "\x9b31mC1",  # CSI as a C1 control
    "\u2028line",
    "\ud800lone",  # a lone surrogate: cannot even be encoded to stdout
    ":smile:",
]
DEEP = "[" * 3000 + "]" * 3000
NEARLY_DEEP = "[" * 900 + "]" * 900  # parses, but anything recursive after it may not
SHOWN = {"\n", " "}


def raw_controls(text: str) -> list[str]:
    """Characters a terminal could act on: controls, format (bidi), separators, surrogates."""
    return sorted({char for char in text if char not in SHOWN
                   and unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"}})


def plain(file: io.StringIO) -> Console:
    """What the CLI uses off a terminal (a pipe), but wide: no line cut through a value."""
    return Console(file=file, highlight=False, width=10_000)


def hostile_timeline(text: str) -> Timeline:
    history = [
        event(0, "ExecutionStarted"),
        entered(1, "Task", text),
        event(2, "LambdaFunctionScheduled", lambdaFunctionScheduledEventDetails={"resource": "x:lambda:y"}),
        event(2, "LambdaFunctionStarted"),
        event(3, "LambdaFunctionFailed",
              lambdaFunctionFailedEventDetails={"error": text, "cause": json.dumps({"errorMessage": text})}),
        event(4, "ExecutionFailed"),
    ]
    described = {**DESCRIBED, "name": text, "status": "FAILED", "error": text, "cause": text,
                 "input": json.dumps({"templateName": text, "method": text})}
    logs = [{"timestamp": T0.timestamp() * 1000 + 2, "message": text, "logStreamName": text}]
    journal = [{"method": text, "rawPath": f"/{text}", "rawQuery": f"q={text}", "body": text,
                "headers": {"Host": text, text: text},
                "response": {"status": 500, "headers": {text: text}, "body": text, "elapsedMs": 1.0}}]
    return build(described, history, "t" * 32, logs, journal)


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_the_timeline_view_shows_a_hostile_string_as_text(text: str) -> None:
    timeline = hostile_timeline(text)
    buffer = io.StringIO()
    timeline_view.render(timeline, plain(buffer))
    shown = buffer.getvalue()
    assert raw_controls(shown) == []
    assert inert(text) in shown  # literally: markup not read, controls escaped
    succeeded = Timeline(**{**timeline.__dict__, "status": "SUCCEEDED", "output": {text: [text]}})
    timeline_view.render(succeeded, plain(buffer))
    assert raw_controls(buffer.getvalue()) == []


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_on_a_terminal_only_rich_styles_are_escapes(text: str) -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, color_system="standard", width=10_000, highlight=False)
    timeline_view.render(hostile_timeline(text), terminal)
    for sequence in ("\x1b[2J", "\x1b[H", "\x1b]8;", "\x07", "\r", "\u202e", "\x9b"):
        assert sequence not in buffer.getvalue()


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_the_executions_list_shows_a_hostile_string_as_text(text: str) -> None:
    described = {**DESCRIBED, "name": text, "input": json.dumps({"templateName": text, "method": text})}
    rows = [timeline_sources.row(described)]
    buffer = io.StringIO()
    timeline_view.render_executions(rows, plain(buffer))
    assert raw_controls(buffer.getvalue()) == []
    assert inert(f"{text} {text}".strip()) in buffer.getvalue()
    assert raw_controls(json_text(rows)) == [] and json_text(rows).isascii()


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_json_output_escapes_every_control_character(text: str) -> None:
    shown = json_text(hostile_timeline(text).to_dict())
    assert raw_controls(shown) == [] and shown.isascii()
    assert json.loads(shown)["name"] == text  # escaped, not lost


@pytest.mark.parametrize("text", HOSTILE, ids=repr)
def test_the_dry_run_text_shows_a_hostile_string_as_text(text: str) -> None:
    result = dryrun.DryRun(template=text, source=text, method=text, url=text, headers={text: text}, body=text,
                           allowed=True, verdict=text)
    assert raw_controls(dryrun.render_text(result)) == []
    failed = dryrun.DryRun(text, text, text, "", {}, None, False, text, error=text)
    assert raw_controls(dryrun.render_text(failed)) == []


def test_the_dry_run_through_a_pipe_with_no_color_prints_no_escape() -> None:
    params = json.dumps({"user_id": "\x1b[2J\x1b[H\x1b[31m\u202e"})
    for extra in ([], ["--json"]):
        done = subprocess.run([sys.executable, "-m", "testbed", "render", "get_user", "GET", "--params", params,
                               "--base-url", "http://127.0.0.1:9", *extra], capture_output=True, text=True,
                              check=False, cwd=settings.ROOT, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "TESTBED_ALLOWED_HOSTS_EXTRA": ""})
        assert done.returncode == 0, done.stderr
        assert raw_controls(done.stdout) == [], extra


@given(st.text())
def test_inert_leaves_no_control_character(text: str) -> None:
    shown = inert(text)
    assert raw_controls(shown) == []
    assert shown == text or "\\" in shown or "\t" in text


@pytest.mark.parametrize("nested", [DEEP, NEARLY_DEEP], ids=["3000 deep", "900 deep"])
def test_deeply_nested_json_is_shown_as_text_with_a_note(nested: str) -> None:
    described = {**DESCRIBED, "status": "SUCCEEDED", "input": nested, "output": nested,
                 "cause": json.dumps({"errorMessage": 1})[:-1] + nested + "}"}
    history = [*FAILING_HISTORY[:-1], event(3502, "ExecutionSucceeded")]
    timeline = build(described, history, "t" * 32, [], [])
    assert any(f"nested deeper than {DEPTH_LIMIT} levels" in note for note in timeline.notes)
    assert isinstance(timeline.output, str) and timeline.output.startswith("[[[")
    buffer = io.StringIO()
    timeline_view.render(timeline, plain(buffer))
    assert "nested deeper" in buffer.getvalue()
    json_text(timeline.to_dict())
    rows = [timeline_sources.row({**DESCRIBED, "input": nested})]
    assert rows[0]["template"] == "? (input nested too deep to read)"
    timeline_view.render_executions(rows, plain(io.StringIO()))


def test_a_deep_execution_input_leaves_the_template_unknown_not_a_crash() -> None:
    deep_template = json.dumps({"templateName": "x", "method": "GET", "params": json.loads(NEARLY_DEEP)})
    timeline = build({**DESCRIBED, "input": deep_template}, FAILING_HISTORY, "t" * 32, [], [])
    assert timeline.template is None and timeline.notes
    assert timeline.execution_arn == ARN and timeline.duration_ms == 3502


def test_a_carriage_return_in_a_body_is_shown_not_swallowed() -> None:
    buffer = io.StringIO()
    timeline_view.render(hostile_timeline("over\rwritten\x0bvt\u2028ls"), plain(buffer))
    body_line = re.compile(r"  < over\\x0dwritten\\x0bvt\\u2028ls +│")  # the body's line, not a header's
    assert body_line.search(buffer.getvalue())


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_output_to_a_closed_pipe_ends_quietly(extra: list[str]) -> None:
    """`testbed show ... --json | head`: the reader left; no BrokenPipeError traceback."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run([sys.executable, "-m", "testbed", "render", "get_user", "GET", "--params",
                               '{"user_id": "1"}', "--base-url", "http://127.0.0.1:9", *extra],
                              stdout=writer, stderr=subprocess.PIPE, text=True, check=False, cwd=settings.ROOT,
                              timeout=60, env={"PATH": "/usr/bin:/bin", "TESTBED_ALLOWED_HOSTS_EXTRA": ""})
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (141, "")
