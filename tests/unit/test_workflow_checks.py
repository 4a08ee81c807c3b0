"""`make lint-workflows` (actionlint, zizmor) fails on a broken or unsafe GitHub workflow, and
passes the project's own: the check can fail, and fails for the workflow's faults."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

from testbed import settings

# Each fault is one that one of the tools must name.
BROKEN = textwrap.dedent("""\
    name: broken
    on: pull_request
    jobs:
      build:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - run: echo "${{ github.event.pull_request.title }}"
          - run: echo "${{ matrix.missing }}"
    """)


# `-o`: the venv counts as up to date, so a test never reinstalls the venv it runs in (a stale stamp
# made `make` rebuild it mid-run).
_MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed"]


def _lint(workflows: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_MAKE, "lint-workflows", f"WORKFLOWS={workflows}"],
                          cwd=settings.ROOT, capture_output=True, text=True, timeout=120, check=False)


def _tool(workflows: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """One tool as the Makefile runs it (the make target stops at the first failure)."""
    make = subprocess.run([*_MAKE, "-n", "lint-workflows", f"WORKFLOWS={workflows}"],
                          cwd=settings.ROOT, capture_output=True, text=True, check=True).stdout
    line = next(line for line in make.splitlines() if line.startswith(".venv/bin/" + command[0]))
    return subprocess.run(["bash", "-c", line], cwd=settings.ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_workflow_checks_fail_on_a_broken_workflow_naming_its_faults(tmp_path: Path) -> None:
    # GIVEN a workflow with an undefined matrix value, an unpinned action, and a pull request's
    # title expanded into a shell script
    (tmp_path / "broken.yml").write_text(BROKEN)
    # WHEN each tool checks it, as `make lint-workflows` runs it
    actionlint = _tool(tmp_path, "actionlint")
    zizmor = _tool(tmp_path, "zizmor")
    # THEN both fail, naming the faults
    assert actionlint.returncode != 0, actionlint.stdout + actionlint.stderr
    assert 'property "missing" is not defined' in actionlint.stdout
    assert zizmor.returncode != 0, zizmor.stdout + zizmor.stderr
    assert "template-injection" in zizmor.stdout and "unpinned-uses" in zizmor.stdout
    # AND so does the make target
    assert _lint(tmp_path).returncode != 0


def test_the_projects_workflows_pass_the_checks(tmp_path: Path) -> None:
    # A copy, so that the control runs the same commands on a folder of the same shape.
    for workflow in (settings.ROOT / ".github" / "workflows").glob("*.yml"):
        shutil.copy(workflow, tmp_path)
    done = _lint(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
