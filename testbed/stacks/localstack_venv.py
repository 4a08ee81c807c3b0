"""LocalStack's own venv for the `localstack` backend: a Python 3.12+ found on the machine,
LocalStack from PyPI at the pins of localstack/constraints-localstack.txt, and the project's
LocalStack plugins (localstack/plugins/) registered in it.

LocalStack 2026.3.0 needs Python 3.12+ (PEP 695 syntax), the harness runs on 3.11+: so LocalStack
gets a venv of its own (.testbed/localstack/venv), made by the harness's uv (warm cache: seconds;
cold: ~30 s). A stamp holds the hash of what built it; a change of pins, plugins' entry points or
interpreter builds it again.

The plugins are registered as an editable install would: a `.pth` line puts localstack/plugins on
LocalStack's path and a `dist-info` carries their entry points, which is where LocalStack's plugin
manager (plux) looks. No build backend, nothing to download.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from testbed import settings
from testbed.errors import TestbedError

MIN_VERSION = (3, 12)
REQUIREMENTS = settings.ROOT / "localstack" / "requirements-localstack.txt"
CONSTRAINTS = settings.ROOT / "localstack" / "constraints-localstack.txt"
PLUGINS_DIR = settings.ROOT / "localstack" / "plugins"
ENTRY_POINTS = PLUGINS_DIR / "entry_points.txt"
DIST_NAME = "testbed_localstack_plugins"
# Where a Python 3.12+ is often found besides PATH: pyenv's versions, newest first.
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"
_PROBE = "import ssl, sys; print('%d.%d' % sys.version_info[:2])"


class LocalStackSetupError(TestbedError):
    """LocalStack's venv could not be made; the message says what to install or set."""


def python_version(executable: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter that runs and has ssl; None otherwise."""
    try:
        probe = subprocess.run([executable, "-c", _PROBE], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", probe.stdout.strip())
    return (int(match[1]), int(match[2])) if probe.returncode == 0 and match else None


def candidates() -> list[str]:
    found = [path for name in ("python3.14", "python3.13", "python3.12") if (path := shutil.which(name))]
    if PYENV_VERSIONS.is_dir():
        versions = sorted(PYENV_VERSIONS.glob("3.1[2-9]*/bin/python3"), key=lambda p: p.parent.parent.name,
                          reverse=True)
        found += [str(path) for path in versions]
    return found


def find_python(configured: str | None) -> str:
    """TESTBED_LOCALSTACK_PYTHON if set (it must qualify), else the first Python 3.12+ found."""
    if configured:
        version = python_version(configured)
        if version is None or version < MIN_VERSION:
            raise LocalStackSetupError(
                f"TESTBED_LOCALSTACK_PYTHON={configured!r} is not a Python 3.12+ with ssl",
                hint="point it at a python3.12 or newer (e.g. ~/.pyenv/versions/3.13.0/bin/python3), or unset it")
        return configured
    for executable in candidates():
        version = python_version(executable)
        if version is not None and version >= MIN_VERSION:
            return executable
    raise LocalStackSetupError(
        "the localstack backend needs Python 3.12+ with ssl (LocalStack's runtime does not run on 3.11); "
        "none was found on PATH (python3.12, python3.13, python3.14) or in ~/.pyenv/versions",
        hint="install one (apt-get install python3.13, or `pyenv install 3.13`) or set "
             "TESTBED_LOCALSTACK_PYTHON=/path/to/python3.12+")


def stamp_text(python: str) -> str:
    digest = hashlib.sha256(python.encode())
    for path in (REQUIREMENTS, CONSTRAINTS, ENTRY_POINTS):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure(venv: Path, configured_python: str | None, log: Path) -> Path:
    """LocalStack's venv, built or rebuilt when its stamp differs; returns its python."""
    python = find_python(configured_python)
    stamp = venv / ".testbed-stamp"
    expected = stamp_text(python)
    if stamp.is_file() and stamp.read_text() == expected and venv_python(venv).exists():
        return venv_python(venv)
    shutil.rmtree(venv, ignore_errors=True)
    uv = [sys.executable, "-m", "uv"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        for command in ([*uv, "venv", "--quiet", "--python", python, str(venv)],
                        [*uv, "pip", "install", "--system-certs", "--python", str(venv_python(venv)),
                         "-r", str(REQUIREMENTS)]):
            if subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False).returncode != 0:
                raise LocalStackSetupError(f"building LocalStack's venv failed: {' '.join(command[2:5])}",
                                           context={"log": str(log)}, hint="check the network to PyPI, then retry")
    register_plugins(venv)
    stamp.write_text(expected)
    return venv_python(venv)


def register_plugins(venv: Path) -> None:
    """The plugins folder on LocalStack's path, and their entry points where plux finds them."""
    site_packages = next(venv.glob("lib/python3.*/site-packages"))
    (site_packages / f"{DIST_NAME}.pth").write_text(f"{PLUGINS_DIR}\n")
    dist_info = site_packages / f"{DIST_NAME}-0.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: 0\n")
    shutil.copy2(ENTRY_POINTS, dist_info / "entry_points.txt")
