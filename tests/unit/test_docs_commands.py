"""The commands README.md and docs/*.md show still exist as written (issue 21).

From every fenced shell or text block (a `$ ` prompt is dropped): each `make` target is one the
Makefile defines, and each `python -m testbed ...` / `python -m testbed.coverage ...` line parses
with the CLI's own argument parser. From every python block: each import resolves. Running the
commands against a stack is what tests/integration/test_devloop.py and .ci/run do.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import cli, settings

ROOT = settings.ROOT
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"", "sh", "bash", "shell", "console", "text"}
_BLOCK = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OPERATORS = {"&&", "||", ";", "|", "(", ")", "&"}


def blocks(page: Path, languages: set[str]) -> Iterator[str]:
    for language, body in _BLOCK.findall(page.read_text(encoding="utf-8")):
        if language in languages:
            yield body


def shell_commands(body: str) -> Iterator[list[str]]:
    """Simple commands (words, leading VAR=value dropped) of the lines that look like commands."""
    for line in body.replace("\\\n", " ").splitlines():
        line = line.strip().removeprefix("$ ")
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
            lexer.whitespace_split = True
            lexer.commenters = "#"
            words = list(lexer)
        except ValueError:  # not shell (output, a table): unbalanced quotes
            continue
        command: list[str] = []
        for word in [*words, ";"]:
            if word in _OPERATORS:
                while command and (_ASSIGNMENT.match(command[0]) or command[0] == "env"):
                    command.pop(0)
                if command:
                    yield command
                command = []
            else:
                command.append(word)


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", text, re.MULTILINE))


def _coverage_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m testbed.coverage")
    parser.add_argument("--fail-under", type=float)
    return parser


def problems_in(page: Path) -> list[str]:
    problems: list[str] = []
    targets = make_targets()
    for body in blocks(page, SHELL_LANGUAGES):
        for words in shell_commands(body):
            if words[0] == "make":
                unknown = [w for w in words[1:] if not w.startswith("-") and "=" not in w and w not in targets]
                problems += [f"{' '.join(words)}: no make target {u!r}" for u in unknown]
            elif words[0].endswith("python") and words[1:3] in (["-m", "testbed"], ["-m", "testbed.coverage"]):
                parser = cli._parser() if words[2] == "testbed" else _coverage_parser()
                errors = io.StringIO()
                try:
                    with contextlib.redirect_stderr(errors):
                        parser.parse_args(words[3:])
                except SystemExit:
                    problems.append(f"{' '.join(words)}: {errors.getvalue().strip().splitlines()[-1]}")
    for body in blocks(page, {"python"}):
        for node in ast.walk(ast.parse(body)):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name):
                        try:
                            importlib.import_module(f"{node.module}.{alias.name}")
                        except ImportError:
                            problems.append(f"from {node.module} import {alias.name}: no such name")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_documented_commands_exist(page: Path) -> None:
    assert problems_in(page) == [], f"{page.relative_to(ROOT)}: commands that no longer run as written"


def test_the_checker_finds_stale_commands(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```sh\n"
        "BACKEND=embedded make up && make -s env   # fine\n"
        "make deploy\n"
        ".venv/bin/python -m testbed run get_user GET --params '{}'\n"
        "$ .venv/bin/python -m testbed run get_user --param x\n"
        "```\n"
        "```python\nfrom testbed import executions\n```\n",
        encoding="utf-8")
    problems = problems_in(page)
    assert len(problems) == 3, problems
    assert "no make target 'deploy'" in problems[0]
    assert "testbed run get_user --param x" in problems[1]
    assert "from testbed import executions" in problems[2]
