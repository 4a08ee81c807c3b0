"""Pins in one place: constraints.txt pins every package exactly, the requirement files only name them.

Each requirement file applies constraints.txt itself (`-c`), so whatever installs it (make venv,
the Docker images, the Lambda bundle, the LocalStack seed) gets the same versions.
"""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from testbed import settings

CONSTRAINTS = settings.ROOT / "constraints.txt"
REQUIREMENT_FILES = (
    "requirements.txt",
    "requirements-uv.txt",
    "infra/requirements.txt",
    "localstack/requirements.txt",
    "localstack/requirements-seed.txt",
    "lambdas/generic_api_call/requirements.txt",
    "mockapi/requirements.txt",
)
# LocalStack's own venv (Python 3.12+) has its own pins: LocalStack pins boto3 exactly, at another
# version than the harness (localstack/constraints-localstack.txt says why). Its file names the
# extra LocalStack's runtime needs (`[runtime]`); the version still comes from the constraints.
LOCALSTACK_CONSTRAINTS = settings.ROOT / "localstack" / "constraints-localstack.txt"
LOCALSTACK_REQUIREMENTS = "localstack/requirements-localstack.txt"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA = re.compile(r"\[[A-Za-z0-9,._-]+\]$")
_PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!-]+)")
_SKIP_DIRS = {"node_modules", "cdk.out", "__pycache__"}


def _entries(text: str) -> list[tuple[int, str]]:
    """(line number, line) of each line that is not blank or a comment."""
    lines = ((number, line.split("#", 1)[0].strip()) for number, line in enumerate(text.splitlines(), 1))
    return [(number, line) for number, line in lines if line]


def constraint_problems(text: str) -> tuple[dict[str, str], list[str]]:
    """The pins (canonical name -> version) and what is wrong: anything but `name==version`, twice a name."""
    pins: dict[str, str] = {}
    problems = []
    for number, line in _entries(text):
        pin = _PIN.fullmatch(line)
        if pin is None:
            problems.append(f"line {number}: {line!r} is not an exact pin (name==version)")
            continue
        name = canonicalize_name(pin["name"])
        if name in pins:
            problems.append(f"line {number}: {pin['name']} is pinned twice")
        pins[name] = pin["version"]
    return pins, problems


def requirement_problems(path: Path, text: str, pins: dict[str, str], constraints: Path = CONSTRAINTS,
                         extras: bool = False) -> list[str]:
    """What is wrong in a requirement file: a version or anything beyond a bare name (`name[extra]`
    where `extras`), a name `constraints` does not pin, a missing `-c` to `constraints`."""
    problems = []
    applies_constraints = False
    for number, line in _entries(text):
        option, _, argument = line.partition(" ")
        if option in ("-c", "-r"):
            target = (path.parent / argument.strip()).resolve()
            if not target.is_file():
                problems.append(f"line {number}: {line!r} names no file")
            applies_constraints |= option == "-c" and target == constraints.resolve()
            continue
        name = _EXTRA.sub("", line) if extras else line
        if _NAME.fullmatch(name) is None:
            problems.append(f"line {number}: {line!r}: name the package only, its version goes in {constraints.name}")
        elif canonicalize_name(name) not in pins:
            problems.append(f"line {number}: {name} is not pinned in {constraints.name}")
    if not applies_constraints:
        problems.append(f"no `-c {os.path.relpath(constraints, path.parent)}` line: its versions would float")
    return problems


def _pins() -> dict[str, str]:
    return constraint_problems(CONSTRAINTS.read_text())[0]


def test_constraints_pin_every_line_exactly() -> None:
    assert constraint_problems(CONSTRAINTS.read_text())[1] == []


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_requirement_file_names_pinned_packages_only(name: str) -> None:
    path = settings.ROOT / name
    assert requirement_problems(path, path.read_text(), _pins()) == []


def test_localstack_constraints_pin_every_line_exactly() -> None:
    assert constraint_problems(LOCALSTACK_CONSTRAINTS.read_text())[1] == []


def test_localstack_requirement_file_names_pinned_packages_only() -> None:
    path = settings.ROOT / LOCALSTACK_REQUIREMENTS
    pins = constraint_problems(LOCALSTACK_CONSTRAINTS.read_text())[0]
    assert requirement_problems(path, path.read_text(), pins, LOCALSTACK_CONSTRAINTS, extras=True) == []


def test_every_requirement_file_is_checked() -> None:
    found = set()
    for folder, dirs, files in os.walk(settings.ROOT):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        found |= {Path(folder, f).relative_to(settings.ROOT).as_posix()
                  for f in files if f.startswith("requirements") and f.endswith(".txt")}
    assert found == {*REQUIREMENT_FILES, LOCALSTACK_REQUIREMENTS}


def test_every_installed_dependency_is_pinned_at_its_version() -> None:
    """Transitive ones too: a dependency missing from constraints.txt would float in the images
    and the Lambda bundle. Walks the requirement files' names through the installed metadata."""
    pins = _pins()
    todo = [line for name in REQUIREMENT_FILES for _, line in _entries((settings.ROOT / name).read_text())
            if _NAME.fullmatch(line)]
    seen: set[str] = set()
    problems = []
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        installed = metadata.distribution(name)
        if pins.get(name) != installed.version:
            problems.append(f"{name} {installed.version} is installed, constraints.txt pins {pins.get(name)}")
        for requirement in map(Requirement, installed.requires or []):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    assert problems == []
    assert len(seen) > 50  # the walk reached the transitive dependencies


# The checks themselves, on small inputs: each kind of mistake is found.
@pytest.mark.parametrize(("text", "expected"), [
    ("-c ../constraints.txt\nPyYAML==6.0.4\n", "name the package only"),
    ("-c ../constraints.txt\nPyYAML>=6\n", "name the package only"),
    ("-c ../constraints.txt\nPyYAML[libyaml]\n", "name the package only"),
    ("-c ../constraints.txt\nleft-pad\n", "left-pad is not pinned"),
    ("PyYAML\n", "no `-c ../constraints.txt` line"),
    ("-c ../nowhere.txt\nPyYAML\n", "names no file"),
])
def test_requirement_mistakes_are_found(text: str, expected: str) -> None:
    problems = requirement_problems(settings.ROOT / "mockapi" / "requirements.txt", text, {"pyyaml": "6.0.4"})
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(("text", "expected"), [
    ("PyYAML\n", "not an exact pin"),
    ("PyYAML>=6.0\n", "not an exact pin"),
    ("-r requirements.txt\n", "not an exact pin"),
    ("PyYAML==6.0.4\npyyaml==6.0.3\n", "pinned twice"),
])
def test_constraint_mistakes_are_found(text: str, expected: str) -> None:
    assert any(expected in problem for problem in constraint_problems(text)[1])
