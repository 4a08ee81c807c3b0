"""The localstack backend's venv: which Python it takes, what it says when there is none, and
that the plugins' entry points are where LocalStack's plugin manager (plux) looks."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

import pytest

from testbed.stacks import localstack_venv


def test_a_configured_python_older_than_3_12_is_refused_with_the_variable_named() -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("the harness runs on 3.12+ here: no older Python to refuse")
    with pytest.raises(localstack_venv.LocalStackSetupError, match="TESTBED_LOCALSTACK_PYTHON") as caught:
        localstack_venv.find_python(sys.executable)
    assert "unset it" in (caught.value.hint or "")


def test_a_configured_python_that_does_not_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(localstack_venv.LocalStackSetupError, match=r"is not a Python 3\.12"):
        localstack_venv.find_python(str(tmp_path / "python3.13"))


def test_no_python_3_12_found_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(localstack_venv, "candidates", lambda: [sys.executable] if sys.version_info < (3, 12) else [])
    with pytest.raises(localstack_venv.LocalStackSetupError, match=r"needs Python 3\.12") as caught:
        localstack_venv.find_python(None)
    assert "TESTBED_LOCALSTACK_PYTHON" in (caught.value.hint or "")


def test_the_plugins_are_registered_where_plux_finds_entry_points(tmp_path: Path) -> None:
    site_packages = tmp_path / "lib" / "python3.13" / "site-packages"
    site_packages.mkdir(parents=True)
    localstack_venv.register_plugins(tmp_path)
    entry_points = [ep for dist in metadata.distributions(path=[str(site_packages)]) for ep in dist.entry_points]
    assert {(ep.group, ep.name) for ep in entry_points} == {
        ("localstack.aws.provider", "dynamodb:testbed_moto"),
        ("localstack.lambda.runtime_executor", "testbed-local"),
    }
    assert (site_packages / f"{localstack_venv.DIST_NAME}.pth").read_text().strip() == str(localstack_venv.PLUGINS_DIR)


def test_the_stamp_changes_with_the_interpreter() -> None:
    assert localstack_venv.stamp_text("/usr/bin/python3.12") != localstack_venv.stamp_text("/usr/bin/python3.13")
