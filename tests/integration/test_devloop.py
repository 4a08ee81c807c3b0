"""The developer loop against a real stack: watch re-deploys edits; the timeline joins by id.

Every test owns its data: templates with unique names in its own folder, executions it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testbed import settings
from testbed.deploy import synth, watch
from testbed.runs import executions, timeline_sources
from tests import support
from tests.stacks import TEST_CONFIG
from tests.support import unique

pytestmark = [pytest.mark.integration, pytest.mark.emulator_only(
    reason="`make watch` redeploys through the emulator's deployer; `make up` prints emulator commands")]
DEADLINE_SECONDS = 30.0
IN_FLIGHT = 4
IN_FLIGHT_MS = 4000  # how long each in-flight execution's upstream call takes: the update lands within


def _wait_until(condition, what: str, timeout: float = DEADLINE_SECONDS):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:g}s")


@pytest.fixture
def running_watcher(testbed: support.Testbed, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A Watcher on a templates folder of this test's own, running in a thread."""
    folder = tmp_path / "templates"
    folder.mkdir()
    lines: list[str] = []
    ready = threading.Event()
    stop = threading.Event()
    watcher = watch.Watcher(testbed.stack, watch.WatchedPaths(templates=[folder], infrastructure=[]), lines.append)
    thread = threading.Thread(target=watcher.run, kwargs={"stop": stop, "ready": ready.set}, daemon=True)
    thread.start()
    assert ready.wait(DEADLINE_SECONDS), "the watch did not start"
    try:
        yield folder, lines
    finally:
        stop.set()
        thread.join(DEADLINE_SECONDS)


def _template_file(folder: Path, name: str, description: str) -> Path:
    """Written whole (as editors that save atomically do), so the watch never reads half a file."""
    path = folder / f"{name}.GET.yaml"
    staged = folder.parent / f"{name}.staged"
    staged.write_text(f"name: {name}\nmethod: GET\ndescription: {description}\n"
                      "url: \"{{ base_url }}/status/200\"\ntimeoutSeconds: 5\n")
    staged.replace(path)
    return path


def test_watch_deploys_an_edited_template(testbed: support.Testbed, running_watcher: tuple[Path, list[str]]) -> None:
    folder, lines = running_watcher
    name = unique("watched")
    path = _template_file(folder, name, "first")
    _wait_until(lambda: testbed.get_item(name, "GET"), "the new template in the table")

    edited_at = time.monotonic()
    _template_file(folder, name, "second")
    _wait_until(lambda: (testbed.get_item(name, "GET") or {}).get("description") == {"S": "second"},
                "the edited template in the table")
    print(f"\ntemplate edit live after {time.monotonic() - edited_at:.2f}s")  # a figure, not an assertion
    # The table can show the edit a moment before the watcher prints its line.
    _wait_until(lambda: any(name in line and "updated" in line for line in lines), f"an 'updated' line in {lines}")
    assert testbed.run(name, "GET").status == "SUCCEEDED"

    extra = unique("deleted")
    _template_file(folder, extra, "soon deleted")
    _wait_until(lambda: testbed.get_item(extra, "GET"), "the second template in the table")
    (folder / f"{extra}.GET.yaml").unlink()  # a deleted file deletes its item
    _wait_until(lambda: testbed.get_item(extra, "GET") is None, "the deleted template gone from the table")
    _wait_until(lambda: any(extra in line and "deleted" in line for line in lines), f"a 'deleted' line in {lines}")

    seen = len(lines)
    path.write_text("name: [broken\n")  # a bad edit is reported, and nothing is written
    _wait_until(lambda: any("NOT deployed" in line for line in lines[seen:]), "the error line")
    assert (testbed.get_item(name, "GET") or {}).get("description") == {"S": "second"}


def _release(fifo: Path) -> None:
    """A reader blocked on the FIFO (a watch without the fix) gets EOF, so no thread is left hanging."""
    if fifo.is_fifo():
        with contextlib.suppress(OSError):  # ENXIO: no reader, nothing to release
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _nested_for(depth: int) -> str:
    return "".join(f"{{% for a{i} in [1] %}}" for i in range(depth)) + "x" + "{% endfor %}" * depth


def test_the_watch_reports_bad_template_edits_and_goes_on(
    testbed: support.Testbed, running_watcher: tuple[Path, list[str]],
) -> None:
    """A FIFO named like a template (it hung the watch), and a template whose compile fails in
    Python (21 nested for blocks: a SyntaxError, unless the Lambda names it InvalidTemplate): each
    is reported, and the next good edit deploys."""
    folder, lines = running_watcher
    fifo = folder / "x.GET.yaml"
    os.mkfifo(fifo)
    try:
        _wait_until(lambda: any("NOT deployed" in line and "is a FIFO" in line for line in lines),
                    f"the FIFO refused in {lines}")
    finally:
        _release(fifo)
        fifo.unlink()

    seen = len(lines)
    deep = unique("deep")
    (folder / f"{deep}.GET.yaml").write_text(
        f"name: {deep}\nmethod: GET\nurl: \"{{{{ base_url }}}}/{_nested_for(21)}\"\n")
    _wait_until(lambda: any("NOT deployed" in line and deep in line for line in lines[seen:]),
                f"the deep template refused in {lines[seen:]}")
    assert testbed.get_item(deep, "GET") is None
    (folder / f"{deep}.GET.yaml").unlink()

    name = unique("after")
    _template_file(folder, name, "deployed after the bad edits")
    _wait_until(lambda: testbed.get_item(name, "GET"), f"the good edit in the table; the watch said {lines}")
    testbed.delete_template(name, "GET")


def test_the_watch_reports_bad_infrastructure_edits_and_goes_on(testbed: support.Testbed, tmp_path: Path) -> None:
    """A broken infra/app.py (the synth fails) and an ASL edit statelint refuses are reported; the
    watch then deploys the tree once it is good again. (A failed stack update: tests/unit/test_errors.py.)"""
    tree = support.source_copy(tmp_path)
    # The copy's inputs are the working tree's: the working tree's assembly is current for it.
    working = synth.synthesize(testbed.stack.config).directory
    shutil.copytree(working, synth.default_outdir(testbed.stack.config, tree))
    lines: list[str] = []
    watcher = watch.Watcher(testbed.stack, watch.WatchedPaths.of(tree), lines.append)
    app, asl = tree / "infra" / "app.py", tree / settings.ASL_PATH.relative_to(settings.ROOT)
    good_app, good_asl = app.read_text(), asl.read_text()

    app.write_text(good_app + "\ndef broken(:\n")
    (line,) = watcher.handle([app])
    assert "NOT deployed: `python infra/app.py` failed" in line and "SyntaxError" in line, line
    app.write_text(good_app)

    definition = json.loads(good_asl)
    definition["States"]["CheckTemplateExists"]["Default"] = "NoSuchState"
    asl.write_text(json.dumps(definition))
    (line,) = watcher.handle([asl])
    assert "NOT deployed: " in line and 'No state found named "NoSuchState"' in line, line
    asl.write_text(good_asl)

    (line,) = watcher.handle([asl])
    assert "NOT deployed" not in line and "nothing to deploy (already up to date)" in line, line


# Docker only: there the watch deploys from the host into the container (the path that once
# never reached the function); embedded runs the same seed() against its own endpoint in every
# seed test, and in-flight survival of an update is test_fidelity's on both backends.
@pytest.fixture(scope="module")
def edited_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the source tree with a change to the Lambda's code, synthesized: the slow part
    of the watch's deploy, done before the test takes its stack (module scope: set up first)."""
    tree = support.source_copy(tmp_path_factory.mktemp("edited"))
    _probe(tree).write_text("# a change to the Lambda's code, made by tests/integration/test_devloop.py\n")
    synth.synthesize(TEST_CONFIG, root=tree)
    synth.synthesize(TEST_CONFIG)  # the working tree's, which the test deploys back at its end
    return tree


def _probe(tree: Path) -> Path:
    return tree / settings.LAMBDA_DIR.relative_to(settings.ROOT) / settings.LAMBDA_PACKAGE / "_watch_probe.py"


@pytest.mark.parametrize("stack", ["docker"], indirect=True)
# Alone on its stack: for a moment the shared function runs another code than the working tree's,
# which the deploy and seed tests would see.
@pytest.mark.exclusive
def test_a_lambda_change_during_executions_fails_none(
    testbed: support.Testbed, make_template, make_stub, edited_tree: Path,
) -> None:
    """What `make watch` does on a Lambda edit must not fail executions in flight (MiniStack's
    worker replacement, fixed in testbed/emulator/patches/worker_updates.py).

    The edit is made in a copy of the source tree, which this watch deploys from. The executions
    wait on a slow upstream, so their Lambda invocations are in progress while the function is
    updated; the copy is synthesized before they start (edited_tree), so the update falls
    inside that window, and the test checks it did.
    """
    lambda_ = testbed.client("lambda")
    before = lambda_.get_function_configuration(FunctionName=settings.FUNCTION_NAME)["CodeSha256"]
    path = f"/{unique('inflight')}"
    name = make_template(url=f"{{{{ base_url }}}}{path}")
    make_stub({"request": {"method": "GET", "path": path}, "response": {"status": 200, "delayMs": IN_FLIGHT_MS}})
    sfn = testbed.client("stepfunctions")
    watcher = watch.Watcher(testbed.stack, watch.WatchedPaths.of(edited_tree), print)
    try:
        started = [sfn.start_execution(stateMachineArn=testbed.state_machine_arn, name=unique("inflight"),
                                       input=json.dumps({"templateName": name, "method": "GET", "params": {}}))
                   ["executionArn"] for _ in range(IN_FLIGHT)]
        _wait_until(lambda: len(testbed.received(path)) >= IN_FLIGHT, "every execution's call in flight")
        lines = watcher.handle([_probe(edited_tree)])
        assert any("lambda" in line for line in lines), lines
        still_running = [sfn.describe_execution(executionArn=arn)["status"] for arn in started]
        after = lambda_.get_function_configuration(FunctionName=settings.FUNCTION_NAME)["CodeSha256"]
        assert after != before, f"the watch did not update the Lambda: {lines}"
        assert still_running == ["RUNNING"] * IN_FLIGHT, "the update came after the executions, not during them"
        results = [executions.wait(sfn, arn, timeout=90) for arn in started]
    finally:
        watch.deploy_infrastructure(testbed.stack)  # the shared stack's Lambda is the working tree's again
    assert lambda_.get_function_configuration(FunctionName=settings.FUNCTION_NAME)["CodeSha256"] == before
    failed = {r.arn.rsplit(":", 1)[-1]: r.cause for r in results if r.status != "SUCCEEDED"}
    assert not failed, f"{len(failed)} of {IN_FLIGHT} in-flight executions failed: {failed}"


@pytest.mark.needs_mockapi
def test_timeline_of_a_failing_run_shows_each_attempt(testbed: support.Testbed) -> None:
    result = testbed.run("get_status", "GET", {"code": "503"})
    timeline = timeline_sources.timeline(testbed.client("stepfunctions"), testbed.client("logs"),
                                         testbed.stack.endpoints.mockapi, result.arn)
    assert timeline.status == "FAILED"
    attempts = [a for a in timeline.attempts if a.state == "InvokeLambdaToCallAPI"]
    assert len(attempts) == 3  # the first call and the Retry's two
    assert all(a.error == "UpstreamUnavailable" for a in attempts)
    assert [a.backoff_ms is not None for a in attempts] == [True, True, False]
    assert timeline.exchanges is not None  # the mock API answered the journal query


@pytest.mark.needs_mockapi
def test_journal_entries_of_an_execution_are_found_by_its_trace_id(testbed: support.Testbed) -> None:
    user = unique("traced")
    result = testbed.run("get_user", "GET", {"user_id": user})
    timeline = timeline_sources.timeline(testbed.client("stepfunctions"), testbed.client("logs"),
                                         testbed.stack.endpoints.mockapi, result.arn)
    assert timeline.exchanges is not None
    assert len(timeline.exchanges) == 1 and user in timeline.exchanges[0].url
    assert timeline.logs, "the Lambda's log lines carry the execution's ids"


def _summary_commands(summary: str) -> list[str]:
    """The shell commands `make up` prints (indented lines, `\\`-continued), in order."""
    commands: list[str] = []
    pending = ""
    for line in summary.splitlines():
        if not line.startswith("  ") or (not pending and not line.strip().startswith((".venv/", "curl", "eval"))):
            continue
        pending += line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        commands.append(pending)
        pending = ""
    return commands


def test_every_command_printed_by_up_runs_as_written(testbed: support.Testbed) -> None:
    from testbed.stacks import shell_env

    commands = _summary_commands(testbed.stack.summary(testbed.state_machine_arn))
    assert commands[0] == 'eval "$(make -s env)"'
    assert len(commands) >= 4, commands
    # `make -s env` describes the user's stack; for the test's own stack the same exports
    # come from the same function (shell_env.exports), then every other command runs as printed.
    script = "set -euo pipefail\n" + shell_env.exports(testbed.stack) + "\n" + "\n".join(
        f"{command} > /dev/null" for command in commands[1:])
    script += "\n.venv/bin/awslocal stepfunctions list-state-machines > /dev/null"
    done = subprocess.run(["bash", "-c", script], cwd=settings.ROOT, capture_output=True, text=True, timeout=300,
                          check=False, env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")})
    assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
