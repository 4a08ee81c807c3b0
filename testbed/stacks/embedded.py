"""The embedded backend: MiniStack and the mock API as local background processes.

No Docker: MiniStack runs Lambdas as subprocesses of its own Python. Pid files and logs
live in a run directory (default .testbed/embedded/), which `stop` uses to stop exactly
the processes that `start` started.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from testbed import probes, settings
from testbed.config import Config
from testbed.deploy.report import SeedReport
from testbed.deploy.seed import SeedConfig, seed
from testbed.stacks.base import Endpoints, Stack, StackError
from testbed.stacks.processes import ManagedProcess

READY_TIMEOUT_SECONDS = 60.0


def mockapi_flags(config: Config) -> list[str]:
    """Replay, strictness and recording targets of the mock API, from the configuration (docs/recording.md)."""
    flags = ["--strict"] if config.mockapi_strict else []
    for folder in config.mockapi_mappings:
        flags += ["--mappings", str(settings.ROOT / folder)]  # relative to the repository, as in the image
    for origin in config.record_targets:
        flags += ["--record-target", origin]
    return flags


class EmbeddedStack(Stack):
    name = "embedded"
    engine = "MiniStack"  # the AWS emulator, as messages name it
    health_path = "/_ministack/health"  # answers 200 once the emulator serves

    def __init__(
        self,
        config: Config | None = None,
        run_dir: Path | None = None,
        emulator_port: int | None = None,
        mockapi_port: int | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.config = config or Config()
        self.run_dir = run_dir or self.config.run_dir(self.name)
        # Everything the emulator writes to temp (one folder per Lambda worker, ~4 MB each)
        # stays under the run dir, and `stop` removes it.
        self.tmp_dir = self.run_dir / "tmp"
        self.emulator = ManagedProcess("emulator", self.run_dir)
        self.mockapi = ManagedProcess("mockapi", self.run_dir)
        # A stack already running from this run dir keeps its ports, so `up` and `down` find it.
        running = self.emulator.running_pid() or self.mockapi.running_pid()
        saved = self._saved_ports() if running else {}
        self.emulator_port = emulator_port or saved.get("emulator") or self.config.emulator_port
        self.mockapi_port = mockapi_port or saved.get("mockapi") or self.config.mockapi_port
        self.extra_env = extra_env or {}
        ports = ((self.emulator_port, "TESTBED_EMULATOR_PORT"), (self.mockapi_port, "TESTBED_MOCKAPI_PORT"))
        for port, variable in ports:
            if port == 0:
                raise StackError(f"{variable}=0 (any free port) works with the docker backend only; "
                                 f"the embedded backend needs a port: {variable}=<port> make up")

    @property
    def endpoints(self) -> Endpoints:
        mockapi = f"http://127.0.0.1:{self.mockapi_port}"
        return Endpoints(aws=f"http://127.0.0.1:{self.emulator_port}", mockapi=mockapi, mockapi_for_lambda=mockapi)

    def is_running(self) -> bool:
        return self.emulator.running_pid() is not None and self.mockapi.running_pid() is not None

    def service_states(self) -> dict[str, str]:
        return {process.name: "running" if process.running_pid() else "stopped"
                for process in (self.emulator, self.mockapi)}

    def start(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "ports.json").write_text(
            json.dumps({"emulator": self.emulator_port, "mockapi": self.mockapi_port}))
        started = []
        try:
            if self.emulator.running_pid() is None:
                self._check_port_free(self.emulator_port, "TESTBED_EMULATOR_PORT")
                self.emulator.start(self._emulator_command(), self._emulator_env(), settings.ROOT)
                started.append(self.emulator)
            if self.mockapi.running_pid() is None:
                self._check_port_free(self.mockapi_port, "TESTBED_MOCKAPI_PORT")
                self.mockapi.start(
                    [sys.executable, "-m", "mockapi", "--host", "127.0.0.1", "--port", str(self.mockapi_port),
                     "--stubs", str(settings.MOCKAPI_STUBS), "--contracts", str(settings.CONTRACTS_DIR),
                     *mockapi_flags(self.config)],
                    dict(self.config.environ), settings.ROOT,
                )
                started.append(self.mockapi)
            self._wait_ready()
        except (StackError, probes.NotReady):
            for process in started:  # leave nothing half-started behind
                process.stop()
            raise

    def allow_record_target(self, origin: str) -> None:
        """Restart the mock API allowing `origin` too (its run-time stubs and journal start empty)."""
        self.config = self.config.replace(record_targets=(*self.config.record_targets, origin))
        self.mockapi.stop()
        self.start()

    def stop(self) -> None:
        self.mockapi.stop()
        self.emulator.stop()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def seed(self) -> SeedReport:
        return seed(SeedConfig(api_base_url=self.endpoints.mockapi_for_lambda, endpoint=self.endpoints.aws,
                               config=self.config))

    def emulator_logs(self) -> str:
        try:
            return self.emulator.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        e = self.endpoints
        probes.wait_until(
            probes.http_ok(f"{e.aws}{self.health_path}"), timeout=READY_TIMEOUT_SECONDS,
            what=f"{self.engine} on port {self.emulator_port}",
            detail=lambda: f"last lines of {self.emulator.log_file}:\n{self.emulator.log_tail()}",
        )
        probes.wait_until(
            probes.http_ok(f"{e.mockapi}/__admin/health"), timeout=READY_TIMEOUT_SECONDS,
            what=f"mock API on port {self.mockapi_port}",
            detail=lambda: f"last lines of {self.mockapi.log_file}:\n{self.mockapi.log_tail()}",
        )

    def _emulator_command(self) -> list[str]:
        return [sys.executable, "-m", "testbed.emulator"]

    def _emulator_env(self) -> dict[str, str]:
        env = dict(self.config.environ)
        env.update({
            "GATEWAY_PORT": str(self.emulator_port),
            "BIND_HOST": "127.0.0.1",
            "MINISTACK_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
            "SFN_MOCK_CONFIG": str(settings.SFN_MOCK_CONFIG),
            "TMPDIR": str(self.tmp_dir),
        })
        env.pop("AWS_ENDPOINT_URL", None)  # MiniStack sets its own for the Lambdas it runs
        env.update(self.extra_env)
        return env

    def _check_port_free(self, port: int, variable: str) -> None:
        if probes.port_in_use(port):
            raise StackError(
                f"port {port} is already in use by another process. Stop that process, "
                f"or choose another port: {variable}=<port> make up"
            )

    def _saved_ports(self) -> dict[str, int]:
        """Ports of the stack started earlier from this run dir."""
        try:
            return {k: int(v) for k, v in json.loads((self.run_dir / "ports.json").read_text()).items()}
        except (OSError, ValueError, AttributeError):
            return {}

