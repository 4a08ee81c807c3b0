"""The `localstack` backend: LocalStack's runtime from PyPI and the mock API as local processes.

The embedded backend with another engine: the same run directory layout (.testbed/localstack/),
pid files, ports and mock API (stacks/processes.py), and the same seed (the CDK stack through the
engine's CloudFormation). LocalStack runs from its own venv (stacks/localstack_venv.py) as its
image's supervisor runs it (`python -m localstack.runtime.main`), offline: DynamoDB from moto and
Lambdas as local processes, through the project's two LocalStack plugins (localstack/plugins/).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from testbed import settings
from testbed.config import Config
from testbed.stacks import localstack_venv
from testbed.stacks.embedded import EmbeddedStack
from testbed.stacks.localstack_engine import engine_env


class LocalStackStack(EmbeddedStack):
    name = "localstack"
    engine = "LocalStack"
    health_path = "/_localstack/health"

    def __init__(self, config: Config | None = None, run_dir: Path | None = None,
                 emulator_port: int | None = None, mockapi_port: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        super().__init__(config, run_dir, emulator_port, mockapi_port, extra_env)
        # In the state folder, whatever run_dir: a test's stack (a run dir of its own) shares it.
        # `down` keeps it; it is built again only when its pins change.
        self.venv = self.config.run_dir(self.name, "venv")
        self.python: Path | None = None

    def start(self) -> None:
        # Before any process starts: a missing Python 3.12+ fails here with what to install.
        self.python = localstack_venv.ensure(self.venv, self.config.localstack_python, self.run_dir / "venv.log")
        super().start()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.run_dir / "filesystem", ignore_errors=True)  # LocalStack's state: gone with the stack

    def _emulator_command(self) -> list[str]:
        python = self.python or localstack_venv.venv_python(self.venv)
        return [str(python), "-m", "localstack.runtime.main"]

    def _emulator_env(self) -> dict[str, str]:
        env = {key: value for key, value in self.config.environ.items()
               if not key.startswith(("AWS_", "PYTHON", "LOCALSTACK_"))}  # nothing of the host's AWS setup
        env.update(engine_env(f"127.0.0.1:{self.emulator_port}", settings.SFN_MOCK_CONFIG))
        env.update({
            "LOCALSTACK_HOST": f"127.0.0.1:{self.emulator_port}",
            "AWS_DEFAULT_REGION": self.config.region,
            "FILESYSTEM_ROOT": str(self.run_dir / "filesystem"),
            "TMPDIR": str(self.tmp_dir),
            "XDG_CACHE_HOME": str(self.tmp_dir / "cache"),  # plux's entry-point cache, not ~/.cache
            "LS_LOG": env.get("LS_LOG", "info"),
        })
        env.update(self.extra_env)
        return env
