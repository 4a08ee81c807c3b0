"""A Lambda's bundle is compiled to bytecode once per code version, not in every new worker.

Upstream (`Worker._spawn`, MiniStack 1.5.33) extracts the deployment zip into a new folder
for each worker process, so each cold start compiles every module the handler imports from
source: ~0.6 s of CPU for Jinja2 and requests, more than half of a cold start. Under
concurrency (16 clients: 16 workers) and after every code update, that is paid again and
again. On AWS the bundle is compiled in each new execution environment too; this changes
how long a local cold start takes, nothing a function can observe.

Patched: after the extraction, the bundle's bytecode is taken from a cache keyed by the
zip's SHA-256. The first worker of a version fills it (compileall in a subprocess, so the
emulator's own threads keep serving; ~0.8 s for this bundle) while the others of that
version wait for it, under a lock per version. The files are unchecked-hash pycs (PEP 552):
valid for the sources they were compiled from, whatever their timestamps, which each
extraction sets anew. The cache is private to the emulator process (a folder under its
TMPDIR, removed when it exits). Any failure here only costs the speed-up: the worker starts
as upstream's would.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from testbed.emulator.patches.source import patch_function_source

NAME = "bytecode-cache"
UPSTREAM = {
    "ministack.core.lambda_runtime.Worker._spawn":
        "c55febf956565c5e83b8a36e069852483461164e899afa9c735a17e138ad1c93",
}
# The method's source as patch_function_source sees it: dedented to `def` at column 0.
OLD = "        zf.extractall(code_dir)\n"
# The patched method imports this module by its own name, so a move of the module moves it too.
NEW = OLD + (
    "    if runtime.startswith('python'):\n"
    f"        from {__name__} import add_bytecode\n"
    "        add_bytecode(code_dir, self.code_zip)\n"
)
COMPILE_TIMEOUT_SECONDS = 60

log = logging.getLogger(__name__)
_cache_root: Path | None = None  # set by apply()


def add_bytecode(code_dir: str, code_zip: bytes, cache_root: Path | None = None) -> None:
    """Put the bytecode of every module of the extracted bundle `code_dir` into place."""
    root = cache_root or _cache_root
    if root is None:
        return
    try:
        cache = root / hashlib.sha256(code_zip).hexdigest()
        with (root / f"{cache.name}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one compile per version; the others wait, then copy
            if not cache.is_dir():
                _fill(cache, Path(code_dir))
        shutil.copytree(cache, code_dir, dirs_exist_ok=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("Lambda bytecode cache skipped for %s: %s", code_dir, exc)


def _fill(cache: Path, code_dir: Path) -> None:
    """Compile the bundle in place, then keep a copy of its __pycache__ folders (whole or not at all)."""
    # check=False: a module that does not compile is left to fail at import, as upstream.
    subprocess.run([sys.executable, "-I", "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
                    str(code_dir)], check=False, timeout=COMPILE_TIMEOUT_SECONDS,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=cache.parent))
    try:
        for folder in code_dir.rglob("__pycache__"):
            if folder.is_dir() and "__pycache__" not in folder.relative_to(code_dir).parts[:-1]:
                shutil.copytree(folder, staging / folder.relative_to(code_dir), dirs_exist_ok=True)
        staging.rename(cache)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def apply(cache_root: Path | None = None) -> None:
    global _cache_root
    from ministack.core import lambda_runtime

    if _cache_root is None:
        if cache_root is None:
            cache_root = Path(tempfile.mkdtemp(prefix="testbed-lambda-bytecode-"))  # under the stack's TMPDIR
            atexit.register(shutil.rmtree, cache_root, True)  # ours alone: gone with this process
        _cache_root = cache_root
    os.makedirs(_cache_root, exist_ok=True)
    patch_function_source(lambda_runtime.Worker, "_spawn", OLD, NEW, NAME)
