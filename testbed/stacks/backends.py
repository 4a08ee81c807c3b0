"""Pick a backend: `docker` when an engine answers, `embedded` otherwise; BACKEND forces one.

`aws` (docs/aws.md) and `localstack` (LocalStack's runtime as a local process, docs/localstack.md)
are never picked by `auto`: only BACKEND=<name> (or the last `up`'s, for `down`).
"""

from __future__ import annotations

import shutil
import subprocess

from testbed.config import Config
from testbed.stacks.base import Stack, StackError

BACKENDS = ("embedded", "docker", "localstack")
REMOTE = ("aws",)  # the real thing: not started here, not among the tests' default backends


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def resolve(config: Config, name: str | None = None) -> str:
    """`name` (a --backend argument), else the configuration's BACKEND."""
    name = (name or config.backend or "auto").strip().lower()
    if name == "auto":
        # `down` and `status` act on the backend that `up` used last.
        last = config.backend_file.read_text().strip() if config.backend_file.is_file() else ""
        if last in BACKENDS + REMOTE:
            return last
        return "docker" if docker_available() else "embedded"
    if name not in BACKENDS + REMOTE:
        raise StackError(f"BACKEND={name!r} is not one of: auto, {', '.join(BACKENDS + REMOTE)}")
    return name


def remember(config: Config, name: str) -> None:
    config.backend_file.parent.mkdir(parents=True, exist_ok=True)
    config.backend_file.write_text(f"{name}\n")


def forget(config: Config) -> None:
    config.backend_file.unlink(missing_ok=True)


def make_stack(config: Config, name: str | None = None) -> Stack:
    resolved = resolve(config, name)
    if resolved == "aws":
        from testbed.stacks.aws_stack import AwsStack

        return AwsStack(config)
    if resolved == "localstack":
        from testbed.stacks.localstack_stack import LocalStackStack

        return LocalStackStack(config)
    if resolved == "docker":
        from testbed.stacks.docker_stack import DockerStack

        return DockerStack(config)
    from testbed.stacks.embedded import EmbeddedStack

    return EmbeddedStack(config)
