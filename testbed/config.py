"""The harness's configuration, read once from the environment at the edge and passed down.

As testcontainers' `core/config.py` and httpie's `Environment` do: the CLI, the pytest plugins,
the benchmark and the emulator's entry point build one `Config` (`Config.from_env()`), everything
below them takes it (or the values it holds) as arguments, and tests build their own instead of
editing `os.environ`. `tests/unit/test_config.py` fails when a module below the edge reads the
environment.

Every variable the harness reads is here, with its default; ports, the region and the layout of
the state folder have their one home here too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from testbed import settings
from testbed.errors import TestbedError

DEFAULT_EMULATOR_PORT = 4566
DEFAULT_MOCKAPI_PORT = 8080
DEFAULT_REGION = "us-east-1"
LOCALHOST = "127.0.0.1"
BACKEND_NAMES = ("auto", "embedded", "docker", "localstack", "aws")
DEFAULT_COMPOSE_FILE = "docker-compose.yml"
REMOVAL_POLICIES = ("retain", "destroy")  # infra/ context removalPolicy

# Variable -> what it sets (docs/configuration.md lists them for users).
VARIABLES = {
    "BACKEND": "the backend: auto (docker when an engine answers, else embedded), embedded, docker, localstack, aws",
    "TESTBED_STATE_DIR": "generated state: pid files, logs, locks, reports, the emulator's assembly",
    "TESTBED_EMULATOR_PORT": "the AWS emulator's port on this machine",
    "TESTBED_MOCKAPI_PORT": "the mock API's port on this machine",
    "TESTBED_MOCKAPI_URL": "the mock API the CLI's timeline reads (`make env` sets it)",
    "TESTBED_ALLOWED_HOSTS_EXTRA": "more host:port entries for the Lambda's destination allow-list",
    "TESTBED_LOCALSTACK_PYTHON": "the Python 3.12+ the localstack backend builds LocalStack's venv with",
    "PYTHON_IMAGE": "the base image of the Docker images",
    "LOCALSTACK_BASE_IMAGE": "the base image (Python 3.12+) of the LocalStack image of docker-compose.localstack.yml",
    "TESTBED_COMPOSE_FILES": "the docker backend's Compose files, comma-separated (LocalStack's engine: "
                             "docker-compose.yml,docker-compose.localstack.yml)",
    "AWS_ENDPOINT_URL": "the emulator the CLI and the seed talk to (never AWS by accident)",
    "AWS_REGION": "the region (else AWS_DEFAULT_REGION, else us-east-1)",
    "PARITY_CASES": "the folder of AWS-recorded Step Functions cases `make parity` replays",
    "TESTBED_SFN_COV_FAIL_UNDER": "fail `make test` when fewer state-machine transitions are covered (percent)",
    # BACKEND=aws (docs/aws.md): nothing is deployed to AWS without the opt-in.
    "TESTBED_AWS_OPT_IN": "1: BACKEND=aws may deploy to (and seed, and destroy in) the account of the credentials",
    "TESTBED_AWS_API_BASE_URL": "BACKEND=aws: the test API the deployed Lambda calls ({{ base_url }})",
    "TESTBED_AWS_RUN_ID": "BACKEND=aws: the run's id in its stack name, ApiTemplateTestbed-<id> (default: random)",
    "TESTBED_AWS_REMOVAL_POLICY": "BACKEND=aws: retain (cdk.json's: the table outlives the stack) or destroy",
    "TESTBED_MOCKAPI_STRICT": "1: the mock API answers a request nothing matches 404 with its near misses",
    "TESTBED_MOCKAPI_MAPPINGS": "recordings (folders of WireMock mappings) the mock API replays, os.pathsep-separated",
    "TESTBED_RECORD_TARGETS": "origins the mock API may record through to (comma-separated; `:*` any port)",
}


class ConfigError(TestbedError):
    """A configuration value is not valid; the message names the variable."""


@dataclass(frozen=True)
class Config:
    state_dir: Path = settings.ROOT / ".testbed"
    backend: str = "auto"
    emulator_port: int = DEFAULT_EMULATOR_PORT  # 0: any free port (the docker backend only)
    mockapi_port: int = DEFAULT_MOCKAPI_PORT
    region: str = DEFAULT_REGION
    aws_endpoint: str | None = None
    mockapi_url: str | None = None
    allowed_hosts_extra: tuple[str, ...] = ()
    python_image: str | None = None
    localstack_base_image: str | None = None
    compose_files: tuple[str, ...] = (DEFAULT_COMPOSE_FILE,)  # the docker backend's, relative to the repository
    localstack_python: str | None = None  # None: the first Python 3.12+ found (stacks/localstack_venv.py)
    has_credentials: bool = False  # AWS_ACCESS_KEY_ID is set: no dummy credentials for an emulator
    sfn_cov_fail_under: float | None = None
    parity_cases: str | None = None
    aws_opt_in: bool = False
    aws_api_base_url: str | None = None
    aws_run_id: str | None = None
    aws_removal_policy: str = "retain"
    mockapi_strict: bool = False
    mockapi_mappings: tuple[str, ...] = ()
    record_targets: tuple[str, ...] = ()
    # The environment child processes inherit (the emulator, the mock API, synth's Node.js):
    # this process's unless a test gives another.
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = dict(os.environ if environ is None else environ)
        backend = (env.get("BACKEND") or "auto").strip().lower()
        if backend not in BACKEND_NAMES:
            raise ConfigError(f"BACKEND={backend!r} is not one of: {', '.join(BACKEND_NAMES)}")
        return cls(
            state_dir=Path(env.get("TESTBED_STATE_DIR") or settings.ROOT / ".testbed"),
            backend=backend,
            emulator_port=parse_port(env.get("TESTBED_EMULATOR_PORT"), "TESTBED_EMULATOR_PORT", DEFAULT_EMULATOR_PORT,
                                     allow_any=True),
            mockapi_port=parse_port(env.get("TESTBED_MOCKAPI_PORT"), "TESTBED_MOCKAPI_PORT", DEFAULT_MOCKAPI_PORT,
                                   allow_any=True),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            aws_endpoint=env.get("AWS_ENDPOINT_URL") or None,
            mockapi_url=env.get("TESTBED_MOCKAPI_URL") or None,
            allowed_hosts_extra=_csv(env.get("TESTBED_ALLOWED_HOSTS_EXTRA")),
            python_image=env.get("PYTHON_IMAGE") or None,
            localstack_base_image=env.get("LOCALSTACK_BASE_IMAGE") or None,
            compose_files=_compose_files(env.get("TESTBED_COMPOSE_FILES")),
            localstack_python=env.get("TESTBED_LOCALSTACK_PYTHON") or None,
            has_credentials=bool(env.get("AWS_ACCESS_KEY_ID")),
            parity_cases=env.get("PARITY_CASES") or None,
            sfn_cov_fail_under=_percent(env.get("TESTBED_SFN_COV_FAIL_UNDER"), "TESTBED_SFN_COV_FAIL_UNDER"),
            aws_opt_in=_opt_in(env.get("TESTBED_AWS_OPT_IN"), "TESTBED_AWS_OPT_IN"),
            aws_api_base_url=env.get("TESTBED_AWS_API_BASE_URL") or None,
            aws_run_id=env.get("TESTBED_AWS_RUN_ID") or None,
            aws_removal_policy=_choice(env.get("TESTBED_AWS_REMOVAL_POLICY"), "TESTBED_AWS_REMOVAL_POLICY",
                                       REMOVAL_POLICIES),
            mockapi_strict=_opt_in(env.get("TESTBED_MOCKAPI_STRICT"), "TESTBED_MOCKAPI_STRICT"),
            mockapi_mappings=tuple(p for p in env.get("TESTBED_MOCKAPI_MAPPINGS", "").split(os.pathsep) if p.strip()),
            record_targets=_csv(env.get("TESTBED_RECORD_TARGETS")),
            environ=env,
        )

    def replace(self, **changes: object) -> Config:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # --- the state folder's layout (one home) ---------------------------------------------
    @property
    def reports_dir(self) -> Path:
        return self.state_dir / "reports"

    @property
    def locks_dir(self) -> Path:
        return self.state_dir / "locks"

    @property
    def emulator_assembly_dir(self) -> Path:
        return self.state_dir / "cdk.out"

    @property
    def lint_cache_dir(self) -> Path:
        """Markers of contents the linters found clean (never inside an assembly: see deploy/lint.py)."""
        return self.state_dir / "lint-cache"

    @property
    def backend_file(self) -> Path:
        """Which backend `up` used last (`down`, `status` and `env` act on it)."""
        return self.state_dir / "backend"

    def run_dir(self, backend: str, *parts: str) -> Path:
        return self.state_dir.joinpath(backend, *parts)

    @property
    def default_mockapi_url(self) -> str:
        return f"http://{LOCALHOST}:{self.mockapi_port}"


def parse_port(text: str | None, variable: str, default: int, *, allow_any: bool = False) -> int:
    """A TCP port from `variable`'s text: 1-65535 (0, "any free port", only where `allow_any`)."""
    if text is None or text == "":
        return default
    lowest = 0 if allow_any else 1
    if not text.isdigit() or not lowest <= int(text) <= 65535:
        raise ConfigError(f"{variable}={text!r} is not a port number ({lowest}-65535)",
                          hint=f"unset {variable}, or set it to a free port, e.g. {variable}={default + 4}")
    return int(text)


def _opt_in(text: str | None, variable: str) -> bool:
    """Only "1" opts in; any other non-empty value is a mistake worth naming (e.g. "yes")."""
    if not text or text == "0":
        return False
    if text != "1":
        raise ConfigError(f"{variable}={text!r}: set it to 1 to opt in, or unset it", hint=f"{variable}=1")
    return True


def _choice(text: str | None, variable: str, choices: tuple[str, ...]) -> str:
    value = (text or choices[0]).strip().lower()
    if value not in choices:
        raise ConfigError(f"{variable}={text!r} is not one of: {', '.join(choices)}")
    return value


def _percent(text: str | None, variable: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise ConfigError(f"{variable}={text!r} is not a percentage (0-100)", hint=f"e.g. {variable}=80")
    return value


def _compose_files(raw: str | None) -> tuple[str, ...]:
    """TESTBED_COMPOSE_FILES: Compose files of the repository, comma-separated, each present (when set:
    the images run this module where the repository's Compose files are not)."""
    files = _csv(raw)
    if not files:
        return (DEFAULT_COMPOSE_FILE,)
    missing = [name for name in files if not (settings.ROOT / name).is_file()]
    if missing:
        raise ConfigError(f"TESTBED_COMPOSE_FILES={raw!r}: no such file in the repository: {', '.join(missing)}",
                          hint=f"e.g. TESTBED_COMPOSE_FILES={DEFAULT_COMPOSE_FILE},docker-compose.localstack.yml")
    return files


def _csv(text: str | None) -> tuple[str, ...]:
    """A comma-separated list, entries stripped, empty ones dropped."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())
