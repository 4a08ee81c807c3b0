"""Compile, at install, the bytecode of the packages that the local stack's processes run.

pip compiles every package it installs; uv does not, and its --compile-bytecode would also
compile the CDK's 180 MB of Python, of which a synth imports a part. Without this step the
first start of each process compiles what it imports, several processes at once in a test
run: the embedded emulator ~4 s of CPU (MiniStack), the AWS CLI ~1.5 s, the mock API, the
Docker starter. Packages that are not installed are skipped. Run by `make venv`.
"""

from __future__ import annotations

import compileall
import importlib.metadata as metadata
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

# The distributions the stack's processes start from; their dependencies are followed.
ROOTS = ("ministack", "awscli", "awscli-local", "aiohttp", "testcontainers")


def closure(roots: tuple[str, ...]) -> list[metadata.Distribution]:
    found: dict[str, metadata.Distribution] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        try:
            found[key] = distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError:  # e.g. a dependency for another platform
            continue
        for requirement in distribution.requires or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    return list(found.values())


def sources(distributions: list[metadata.Distribution]) -> list[str]:
    return sorted({str(Path(str(d.locate_file(f)))) for d in distributions for f in d.files or []
                   if f.suffix == ".py"})


def _compile(paths: list[str]) -> int:
    """How many failed (compileall prints each); a module that does not compile here fails at
    import just the same, so this step, a speed-up, never blocks the install."""
    return sum(not compileall.compile_file(path, quiet=1) for path in paths)


def main() -> int:
    files = sources(closure(ROOTS))
    workers = len(os.sched_getaffinity(0))
    chunks = [files[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        failed = sum(pool.map(_compile, chunks))
    note = f" ({failed} did not compile: they are compiled, or fail, at import)" if failed else ""
    print(f"compiled the bytecode of {len(files)} modules the stack's processes run{note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
