"""The Docker backend: the project's docker-compose.yml, driven through testcontainers.

`start` builds the images and runs `docker compose up --wait`, which returns once every
service is healthy, and the emulator is healthy only after its seed hook succeeded.
Settings reach Compose through an env file (project name, host ports, base image), so
several stacks (a user's and the tests') can run side by side.
"""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from testcontainers.compose import DockerCompose
from testcontainers.core.exceptions import ContainerIsNotRunning

from testbed import settings
from testbed.config import DEFAULT_EMULATOR_PORT, DEFAULT_MOCKAPI_PORT, LOCALHOST, Config
from testbed.deploy.report import SeedReport
from testbed.stacks.base import Endpoints, Stack, StackError

DEFAULT_PROJECT = "api-template-testbed"
OFFICIAL_PYTHON_IMAGE = "python:3.11-slim"
LOCAL_BASE_IMAGE = "testbed/python-base:3.11"  # what `make base-image` builds
# The LocalStack image's (docker-compose.localstack.yml); `make base-image DEBIAN_SUITE=trixie` builds the local one.
OFFICIAL_LOCALSTACK_BASE_IMAGE = "python:3.13-slim"
LOCAL_LOCALSTACK_BASE_IMAGE = "testbed/python-base:3.13"
EMULATOR_PORT = DEFAULT_EMULATOR_PORT  # inside the containers
MOCKAPI_PORT = DEFAULT_MOCKAPI_PORT
SEED_HOOK = "/etc/localstack/init/ready.d/10-seed.sh"
SEED_REPORT = "/tmp/testbed-seed-report.json"  # the hook's report of the seed it made at start
SERVICES = ("emulator", "mockapi")


class DockerStack(Stack):
    name = "docker"

    def __init__(
        self,
        config: Config | None = None,
        project_name: str = DEFAULT_PROJECT,
        emulator_port: int | None = None,
        mockapi_port: int | None = None,
        emulator_env: dict[str, str] | None = None,
        run_dir: Path | None = None,
    ) -> None:
        """Ports: None = the configuration's; 0 = any free port."""
        self.config = config or Config()
        self.project_name = project_name
        self._endpoints: Endpoints | None = None
        self._seeded_by_start = False  # this object's `start` started the emulator: its hook seeded
        self.run_dir = run_dir or self.config.run_dir("docker", project_name)
        variables = {
            "COMPOSE_PROJECT_NAME": project_name,
            "TESTBED_NETWORK": project_name,
            "TESTBED_EMULATOR_PORT": str(self.config.emulator_port if emulator_port is None else emulator_port),
            "TESTBED_MOCKAPI_PORT": str(self.config.mockapi_port if mockapi_port is None else mockapi_port),
            "TESTBED_ALLOWED_HOSTS_EXTRA": ",".join(self.config.allowed_hosts_extra),
            # The mock API's replay and recording (docs/recording.md); recordings are in its image.
            "TESTBED_MOCKAPI_STRICT": "1" if self.config.mockapi_strict else "",
            "TESTBED_MOCKAPI_MAPPINGS": ":".join(f"/app/{p}" for p in self.config.mockapi_mappings),
            "TESTBED_RECORD_TARGETS": ",".join(self.config.record_targets),
            # The base image is looked for (`docker image inspect`) only when a start builds.
            "PYTHON_IMAGE": self.config.python_image or OFFICIAL_PYTHON_IMAGE,
            "LOCALSTACK_BASE_IMAGE": self.config.localstack_base_image or OFFICIAL_LOCALSTACK_BASE_IMAGE,
            **(emulator_env or {}),
        }
        self._variables = variables
        self._env_file = self.run_dir / "compose.env"
    @property
    def compose(self) -> DockerCompose:
        """Compose for this stack's project; its env file is written on first use, not by __init__."""
        if not self._env_file.is_file():
            self._write_env_file(self._variables["PYTHON_IMAGE"])
        return DockerCompose(
            context=str(settings.ROOT),
            compose_file_name=list(self.config.compose_files),
            env_file=str(self._env_file),
            build=True,
            wait=True,
        )

    def _write_env_file(self, image: str, localstack_base: str | None = None) -> None:
        variables = {**self._variables, "PYTHON_IMAGE": image}
        if localstack_base:
            variables["LOCALSTACK_BASE_IMAGE"] = localstack_base
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._env_file.write_text("".join(f"{key}={value}\n" for key, value in sorted(variables.items())))

    @property
    def endpoints(self) -> Endpoints:
        # Each port lookup runs `docker compose port` (~0.3 s); tests ask for the endpoints on
        # every call, which made a docker test case ~3x slower than the embedded one. The
        # host ports stay the same while the containers run, so they are looked up once.
        if self._endpoints is None:
            try:
                emulator = self.compose.get_service_port("emulator", EMULATOR_PORT)
                mockapi = self.compose.get_service_port("mockapi", MOCKAPI_PORT)
            except ContainerIsNotRunning as exc:  # half-stopped: one service exited
                raise StackError(f"the docker stack is not fully running ({exc}): `make status`, then "
                                 "`make down` and `make up`") from exc
            self._endpoints = Endpoints(
                aws=f"http://{LOCALHOST}:{emulator}",
                mockapi=f"http://{LOCALHOST}:{mockapi}",
                mockapi_for_lambda=f"http://mockapi:{MOCKAPI_PORT}",
            )
        return self._endpoints

    def start(self) -> None:
        self._endpoints = None
        self._write_env_file(python_image(self.config), localstack_base_image(self.config))
        self._build()
        # The hook runs when the emulator starts; a running one keeps an earlier start's report.
        emulator_was_running = self.service_states()["emulator"] == "running"
        print("Starting the containers; `up --wait` returns once the emulator has seeded itself (~20-60 s)...",
              file=sys.stderr, flush=True)
        try:
            self.compose.start()
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or b"").decode(errors="replace").strip()[-3000:]
            logs = self._logs()
            raise StackError(f"`docker compose up --wait` failed (exit {exc.returncode}):\n{detail}\n{logs}") from exc
        self._seeded_by_start = not emulator_was_running

    def _build(self) -> None:
        """Build the images with Compose's own progress on the terminal: the first build takes minutes.

        `up --wait` would build silently; after this it finds every layer cached.
        """
        print("Building the images (first time: 2-5 minutes; then seconds, from the cache)...",
              file=sys.stderr, flush=True)
        command = [*self.compose.compose_command_property, "build"]
        done = subprocess.run(command, cwd=self.compose.context, check=False)  # output to the terminal
        if done.returncode != 0:
            raise StackError(f"`{' '.join(command)}` failed (exit {done.returncode}); its output is above")

    def stop(self) -> None:
        self._endpoints = None
        self.compose.stop(down=True)

    def local_server_host(self) -> str:
        """The stack network's gateway: this machine's address on the bridge, which its containers reach.

        Not 127.0.0.1 (in a container, that is the container) nor every interface: a server bound
        here is reachable from this machine and this stack's containers only.
        """
        network = self._variables["TESTBED_NETWORK"]
        inspect = ["docker", "network", "inspect", network, "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}"]
        done = subprocess.run(inspect, capture_output=True, text=True, check=False)
        gateways = [g for g in done.stdout.split() if done.returncode == 0 and ipaddress.ip_address(g).version == 4]
        if not gateways:
            raise StackError(f"the docker stack's network {network!r} has no IPv4 gateway "
                             f"({done.stderr.strip() or done.stdout.strip() or 'none listed'})",
                             hint="is the stack up? `make status`, then `make up`")
        return gateways[0]

    def allow_record_target(self, origin: str) -> None:
        """Recreate the mock API's container allowing `origin` too (its run-time stubs and journal start empty).

        It keeps its host port, so endpoints others looked up stay right; the emulator keeps running.
        """
        port = urlsplit(self.endpoints.mockapi).port
        self.config = self.config.replace(record_targets=(*self.config.record_targets, origin))
        self._variables.update(TESTBED_RECORD_TARGETS=",".join(self.config.record_targets),
                               TESTBED_MOCKAPI_PORT=str(port))
        self._write_env_file(python_image(self.config))
        command = [*self.compose.compose_command_property, "up", "--detach", "--wait", "--no-deps", "--no-build",
                   "mockapi"]
        done = subprocess.run(command, cwd=self.compose.context, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(f"recreating the mock API allowing {origin} failed (exit {done.returncode}):\n"
                             f"{done.stderr.strip()[-3000:]}\n{self._logs()}")
        self._endpoints = None  # looked up again: the same, as pinned

    def seed(self) -> SeedReport:
        """Run the emulator's seed hook again (the Lambda zip is built by the emulator's Python).

        Right after a `start` that started the emulator, the hook has just seeded (`up --wait`
        waited for it): its report is read instead, since seeding again would change nothing
        and cost seconds. Over an emulator that already ran, the hook runs: a plain `docker
        compose up` may have come before, or a `make watch` since.
        """
        hook = f"exec sh {SEED_HOOK} --json"
        script = f"cat {SEED_REPORT} 2>/dev/null || {hook}" if self._seeded_by_start else hook
        self._seeded_by_start = False
        try:
            stdout, _, _ = self.compose.exec_in_container(["sh", "-c", script], service_name="emulator")
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or b"").decode(errors="replace").strip()[-3000:]
            raise StackError(f"the seed hook failed in the emulator container:\n{detail}") from exc
        lines = stdout.strip().splitlines()
        if not lines:
            raise StackError("the seed hook printed no report")
        return SeedReport.from_json(lines[-1])

    def is_running(self) -> bool:
        try:
            containers = self.compose.get_containers()
        except (subprocess.CalledProcessError, OSError):
            return False
        return bool(containers) and all(c.State == "running" for c in containers)

    def service_states(self) -> dict[str, str]:
        """State per Compose service, stopped and exited containers included."""
        states = dict.fromkeys(SERVICES, "absent")
        try:
            containers = self.compose.get_containers(include_all=True)
        except (subprocess.CalledProcessError, OSError):
            return states
        for container in containers:
            if container.Service:
                states[container.Service] = container.State or "unknown"
        return states

    def emulator_logs(self) -> str:
        try:
            stdout, stderr = self.compose.get_logs("emulator")
        except (subprocess.CalledProcessError, OSError):
            return ""
        return stdout + stderr

    def _logs(self) -> str:
        try:
            stdout, stderr = self.compose.get_logs()
        except (subprocess.CalledProcessError, OSError):
            return ""
        tail = "\n".join((stdout + stderr).splitlines()[-60:])
        return f"last lines of the services' logs:\n{tail}"


def python_image(config: Config) -> str:
    """PYTHON_IMAGE if set; else the local base image when only it is present (no registry)."""
    return _base_image(config.python_image, OFFICIAL_PYTHON_IMAGE, LOCAL_BASE_IMAGE)


def localstack_base_image(config: Config) -> str | None:
    """As python_image, for the LocalStack image; None when the stack's Compose files do not build it."""
    if not any("localstack" in name for name in config.compose_files):
        return None
    return _base_image(config.localstack_base_image, OFFICIAL_LOCALSTACK_BASE_IMAGE, LOCAL_LOCALSTACK_BASE_IMAGE)


def _base_image(configured: str | None, official: str, local: str) -> str:
    if configured:
        return configured
    if not _image_present(official) and _image_present(local):
        return local
    return official


def _image_present(image: str) -> bool:
    probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return probe.returncode == 0

