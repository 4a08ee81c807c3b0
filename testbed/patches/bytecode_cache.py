"""A Lambda's bundle is compiled to bytecode once per code version, not in every new worker.

Upstream (`Worker._spawn`, MiniStack 1.5.33) extracts the deployment zip into a new folder
for each worker process, so each cold start compiles every module the handler imports from
source: ~0.6 s of CPU for Jinja2 and requests, more than half of a cold start. Under
concurrency (16 clients: 16 workers) and after every code update, that is paid again and
again. On AWS the bundle is compiled in each new execution environment too; this changes
how long a local cold start takes, nothing a function can observe.

Patched: after the extraction, the bundle's bytecode is taken from a cache keyed by the
zip's SHA-256, filled by the first worker of that version (compileall, all modules, ~0.8 s).
The files are unchecked-hash pycs (PEP 552): valid for the sources they were compiled from,
whatever their timestamps, which the extraction sets anew each time. The cache lives under
the emulator's TMPDIR, which `make down` removes.
"""

from __future__ import annotations

import compileall
import hashlib
import os
import py_compile
import shutil
import tempfile
from pathlib import Path

from testbed.patches.source import patch_function_source

NAME = "bytecode-cache"
UPSTREAM = {
    "ministack.core.lambda_runtime.Worker._spawn":
        "c55febf956565c5e83b8a36e069852483461164e899afa9c735a17e138ad1c93",
}
# The method's source as patch_function_source sees it: dedented to `def` at column 0.
OLD = "        zf.extractall(code_dir)\n"
NEW = OLD + (
    "    if runtime.startswith('python'):\n"
    "        from testbed.patches.bytecode_cache import add_bytecode\n"
    "        add_bytecode(code_dir, self.code_zip)\n"
)


def add_bytecode(code_dir: str, code_zip: bytes) -> None:
    """Put the bytecode of every module in the extracted bundle `code_dir` into place."""
    cache = Path(tempfile.gettempdir()) / "testbed-lambda-bytecode" / hashlib.sha256(code_zip).hexdigest()[:32]
    if not cache.is_dir():
        _fill(cache, Path(code_dir))
    shutil.copytree(cache, code_dir, dirs_exist_ok=True)


def _fill(cache: Path, code_dir: Path) -> None:
    """Compile the bundle in place and keep a copy of its __pycache__ folders (whole or not at all)."""
    compileall.compile_dir(code_dir, quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache.parent))
    for folder in code_dir.rglob("__pycache__"):
        shutil.copytree(folder, staging / folder.relative_to(code_dir))
    try:
        os.rename(staging, cache)
    except OSError:  # another worker of this version filled it first; same content
        shutil.rmtree(staging, ignore_errors=True)


def apply() -> None:
    from ministack.core import lambda_runtime

    patch_function_source(lambda_runtime.Worker, "_spawn", OLD, NEW, NAME)
