"""Pick a backend: `docker` when an engine answers, `embedded` otherwise; BACKEND forces one."""

from __future__ import annotations

import os
import shutil
import subprocess

from testbed import settings
from testbed.stacks.base import Stack, StackError

BACKENDS = ("embedded", "docker")
_LAST_BACKEND = settings.STATE_DIR / "backend"


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def resolve(name: str | None = None) -> str:
    name = (name or os.environ.get("BACKEND") or "auto").strip().lower()
    if name == "auto":
        # `down` and `status` act on the backend that `up` used last.
        last = _LAST_BACKEND.read_text().strip() if _LAST_BACKEND.is_file() else ""
        if last in BACKENDS:
            return last
        return "docker" if docker_available() else "embedded"
    if name not in BACKENDS:
        raise StackError(f"BACKEND={name!r} is not one of: auto, {', '.join(BACKENDS)}")
    return name


def remember(name: str) -> None:
    _LAST_BACKEND.parent.mkdir(parents=True, exist_ok=True)
    _LAST_BACKEND.write_text(f"{name}\n")


def forget() -> None:
    _LAST_BACKEND.unlink(missing_ok=True)


def make_stack(name: str | None = None) -> Stack:
    resolved = resolve(name)
    if resolved == "docker":
        from testbed.stacks.docker_stack import DockerStack

        return DockerStack()
    from testbed.stacks.embedded import EmbeddedStack

    return EmbeddedStack()
