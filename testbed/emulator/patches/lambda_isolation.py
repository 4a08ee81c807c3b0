"""MiniStack fidelity fix: a local Python Lambda imports only its bundle and the runtime's SDK.

On AWS, a Python function's `sys.path` holds its code (/var/task), its layers, and the
runtime's own packages (boto3, botocore and their dependencies); nothing else. MiniStack
1.5.33 runs a warm Python worker as `sys.executable <worker script>` with the emulator's
environment (`ministack/core/lambda_runtime.py`, `_detect_runtime_binary` and
`Worker._spawn`): the worker sees the emulator's whole site-packages (on the embedded backend,
the harness's .venv with Jinja2 and requests) and its PYTHONPATH, so a dependency missing
from the deployment zip still imports locally and fails only on AWS.

This fix runs the worker as `python -I -S` (no site-packages, no .pth files, no PYTHON*
variables, no current folder) and appends one folder holding links to the runtime-provided
packages only (`RUNTIME_PACKAGES`). The worker script itself is unchanged; it still puts the
code folder and layers first, as AWS does. `tests/integration/test_lambda_isolation.py`
fails if a bundle-less import succeeds again.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

NAME = "lambda-isolation"
UPSTREAM = {
    "ministack.core.lambda_runtime._detect_runtime_binary":
        "222e200df2c093f826646602ec435c624ba56f50002aec951aac125c8c8b0169",
}

# What the AWS Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def runtime_dir(parent: Path) -> Path:
    """A folder of links to the runtime-provided packages, as installed for this Python."""
    target = parent / "runtime-packages"
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue  # not installed here: the Lambda will not find it either
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        link = target / source.name
        if not link.exists():
            link.symlink_to(source)
    return target


def isolated_python(parent: Path) -> Path:
    """An executable that runs this Python isolated: `python -I -S`."""
    script = parent / "python-isolated"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


def _with_isolation(detect: Any, python: str, packages: str) -> Any:
    preamble = f"import sys as _ms_sys\n_ms_sys.path.append({packages!r})\n"

    def detect_runtime_binary(runtime: str) -> tuple[str, str]:
        binary, script = detect(runtime)
        if runtime.startswith("python"):
            return python, preamble + script
        return binary, script

    detect_runtime_binary.__wrapped__ = detect  # type: ignore[attr-defined]
    detect_runtime_binary.__testbed_patch__ = NAME  # type: ignore[attr-defined]
    return detect_runtime_binary


def apply(work_dir: Path | None = None) -> None:
    from ministack.core import lambda_runtime

    if getattr(lambda_runtime._detect_runtime_binary, "__wrapped__", None):
        return
    if work_dir is None:
        work_dir = Path(tempfile.mkdtemp(prefix="testbed-lambda-runtime-"))  # under the stack's TMPDIR
        atexit.register(shutil.rmtree, work_dir, True)  # ours alone: gone with this process
    parent = work_dir
    os.makedirs(parent, exist_ok=True)
    lambda_runtime._detect_runtime_binary = _with_isolation(
        lambda_runtime._detect_runtime_binary, str(isolated_python(parent)), str(runtime_dir(parent)))
