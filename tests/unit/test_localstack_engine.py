"""LocalStack's settings have one home: the local process and the image read the same ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from testbed import settings
from testbed.stacks.localstack_engine import IMAGE_LISTEN, OFFLINE_SETTINGS, engine_env
from testbed.stacks.localstack_stack import LocalStackStack

DOCKERFILE = settings.ROOT / "localstack" / "Dockerfile"


def test_the_local_process_runs_with_the_engine_settings(tmp_path: Path) -> None:
    stack = LocalStackStack(run_dir=tmp_path, emulator_port=4599, mockapi_port=8099)
    env = stack._emulator_env()
    assert {key: env[key] for key in OFFLINE_SETTINGS} == OFFLINE_SETTINGS
    assert env["GATEWAY_LISTEN"] == "127.0.0.1:4599"  # never every interface on a developer's machine


def test_the_image_writes_the_same_settings_with_its_own_address() -> None:
    printed = subprocess.run([sys.executable, "-m", "testbed.stacks.localstack_engine", "/mock.json"],
                             capture_output=True, text=True, check=True, cwd=settings.ROOT).stdout
    written = dict(line.split("=", 1) for line in printed.splitlines())
    assert written == engine_env(IMAGE_LISTEN, Path("/mock.json"))


def test_the_image_builds_its_settings_with_that_module_and_reads_them_at_start() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    stage = dockerfile[dockerfile.index("AS localstack-engine"):]
    written = re.search(r"-m testbed\.stacks\.localstack_engine\s*\\?\s*\S+ >(\S+)", stage)
    assert written, "the localstack-engine stage no longer writes its settings with testbed.stacks.localstack_engine"
    assert f". {written[1]}" in stage  # its CMD sources them
    assert "localstack_venv.register_plugins" in stage  # and its plugins are registered as the backend's are
