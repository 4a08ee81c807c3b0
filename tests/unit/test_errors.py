"""One error model (issue 20): every user error is a TestbedError, caught once by the CLI and once
by the watch; a bug is shown with its traceback and ends neither the watch nor hides as a user error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import testbed.deploy
import testbed.stacks
from testbed import cli, probes
from testbed.deploy import watch
from testbed.deploy.cloudformation import DeployError
from testbed.deploy.lint import CheckError
from testbed.deploy.synth import SynthError
from testbed.deploy.template_table import ChangedMeanwhile
from testbed.errors import TestbedError, user_error
from testbed.runs.inert import inert

# Raised and caught inside one module, never shown as such (templates.load_file wraps it).
INTERNAL = {"testbed.deploy.templates.DynamoDBRefusal"}


def _harness_exceptions() -> list[type[BaseException]]:
    modules = [probes]
    for package in (testbed.deploy, testbed.stacks):
        modules += [importlib.import_module(f"{package.__name__}.{info.name}")
                    for info in pkgutil.iter_modules(package.__path__)]
    return [cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__
            and f"{cls.__module__}.{cls.__qualname__}" not in INTERNAL]


def test_every_harness_error_is_a_testbed_error() -> None:
    found = _harness_exceptions()
    assert len(found) >= 10, found  # the scan sees the modules (StackError, SeedError, ...)
    assert [cls.__qualname__ for cls in found if not issubclass(cls, TestbedError)] == []


def test_the_cli_prints_the_message_and_the_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["render", "nothing", "GET", "--templates", str(tmp_path)])
    assert code == 1
    expected = f"error: {tmp_path}/nothing.GET.yaml: no such template file; templates here: none\n"
    assert capsys.readouterr().err == expected

    error = TestbedError("stack X ended in ROLLBACK_COMPLETE", hint="fix infra/, then `make watch` deploys it")
    assert error.lines() == ["error: stack X ended in ROLLBACK_COMPLETE",
                             "hint: fix infra/, then `make watch` deploys it"]


def test_an_aws_error_is_a_user_error_and_a_bug_is_not() -> None:
    refused = ClientError({"Error": {"Code": "ValidationException", "Message": "bad"}}, "UpdateStack")
    error = user_error(refused)
    assert error is not None and error.message.startswith("AWS call failed: ")
    assert "ValidationException" in error.message
    assert user_error(KeyError("x")) is None


class _Stack:
    """The watch's deploy functions are replaced below: the stack is never used."""


def _watcher(tmp_path: Path, lines: list[str]) -> watch.Watcher:
    paths = watch.WatchedPaths(templates=[tmp_path / "templates"], infrastructure=[tmp_path / "infra"], root=tmp_path)
    return watch.Watcher(_Stack(), paths, lines.append)  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [
    SynthError("`python infra/app.py` failed (exit 1):\nSyntaxError"),  # broken infra/app.py
    CheckError("statemachines/api_call.asl.json is not valid Amazon States Language (statelint)"),
    DeployError("stack ApiTemplateTestbed ended in UPDATE_ROLLBACK_COMPLETE"),  # a failed stack update
    probes.NotReady("stack ApiTemplateTestbed (UPDATE_COMPLETE) not ready after 180s"),
    ChangedMeanwhile("template x GET: another seed changed it"),
    ClientError({"Error": {"Code": "ValidationException", "Message": "Template format error"}}, "UpdateStack"),
], ids=lambda e: type(e).__name__)
def test_the_watch_reports_a_user_error_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: Exception,
) -> None:
    lines: list[str] = []
    watcher = _watcher(tmp_path, lines)
    outcomes: list[Any] = [error, None]

    def deploy(*_: Any) -> Any:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return watch.SeedReport(changed=["stack ApiTemplateTestbed: updated"])

    monkeypatch.setattr(watch, "deploy_infrastructure", deploy)
    watcher.handle([tmp_path / "infra" / "app.py"])
    watcher.handle([tmp_path / "infra" / "app.py"])
    assert "NOT deployed: " in lines[0] and str(user_error(error)) in lines[0], lines
    assert "Traceback" not in lines[0]
    assert "stack ApiTemplateTestbed: updated" in lines[1], lines


def test_the_watch_reports_a_bug_with_its_traceback_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines: list[str] = []
    watcher = _watcher(tmp_path, lines)
    outcomes: list[BaseException | None] = [KeyError("Outputs"), None, KeyboardInterrupt()]

    def deploy(*_: Any) -> Any:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return watch.SeedReport(changed=["template t GET: updated (t.GET.yaml)"])

    monkeypatch.setattr(watch, "deploy_templates", deploy)
    template = tmp_path / "templates" / "t.GET.yaml"
    watcher.handle([template])
    assert "NOT deployed: unexpected KeyError" in lines[0] and "Traceback" in lines[0], lines
    watcher.handle([template])
    assert "updated" in lines[1]
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C stops the watch
        watcher.handle([template])


def test_cleanups_go_on_past_a_failed_one(caplog: pytest.LogCaptureFixture) -> None:
    from tests.support import run_cleanups

    done: list[str] = []

    def fails() -> None:
        raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "DeleteFunction")

    cleanups = [lambda: done.append("first"), fails, lambda: done.append("last")]
    failures = run_cleanups(cleanups)
    assert done == ["last", "first"]  # newest first, and past the failure
    assert [type(f).__name__ for f in failures] == ["ClientError"] and cleanups == []
    assert "cleanup" in caplog.text and "ResourceNotFoundException" in caplog.text


HOSTILE_NAME = "t\x1b[2J\x1b]8;;http://evil\x07\u202e"  # a template's name, as a YAML "\e..." string gives it


def test_the_cli_prints_an_error_quoting_a_file_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.GET.yaml").write_text(f'name: "{HOSTILE_NAME.encode("unicode_escape").decode()}"\n'
                                         'method: GET\nurl: "{{ base_url }}/x"\n')
    assert cli.main(["render", "t", "GET", "--templates", str(tmp_path)]) == 1
    shown = capsys.readouterr().err
    assert "does not match the file name" in shown and inert(HOSTILE_NAME) in shown
    assert not {"\x1b", "\x07", "\u202e"} & set(shown), shown


def test_the_watch_prints_names_and_errors_inert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines: list[str] = []
    watcher = _watcher(tmp_path, lines)
    outcomes: list[Any] = [TestbedError(f"template {HOSTILE_NAME}: refused"), None]

    def deploy(*_: Any) -> Any:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return watch.SeedReport(changed=[f"template {HOSTILE_NAME} GET: updated"])

    monkeypatch.setattr(watch, "deploy_templates", deploy)
    for _ in outcomes[:]:
        watcher.handle([tmp_path / "templates" / f"{HOSTILE_NAME}.GET.yaml"])
    assert len(lines) == 2 and all(inert(HOSTILE_NAME) in line for line in lines), lines
    assert not {"\x1b", "\x07", "\u202e"} & set("".join(lines)), lines
