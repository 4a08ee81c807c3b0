"""The configuration is read once, at the edge (issue 21): `Config.from_env` and its rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from testbed import aws, settings
from testbed.config import DEFAULT_EMULATOR_PORT, Config, ConfigError, parse_port

# The modules that may read the environment: the configuration itself. Everything else gets a
# Config (or values from one); the CLI, the pytest plugin, the benchmark build it.
EDGE = {settings.ROOT / "testbed" / "config.py"}


def _reads_environment(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_no_module_below_the_edge_reads_the_environment() -> None:
    offenders = {str(p.relative_to(settings.ROOT)): lines for p in sorted((settings.ROOT / "testbed").rglob("*.py"))
                 if p not in EDGE and (lines := _reads_environment(p))}
    assert offenders == {}, "read the environment in testbed/config.py and pass a Config down"


def test_the_rule_sees_a_read(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\nA = os.environ.get('X')\nB = os.getenv('Y')\n")
    assert sorted(_reads_environment(module)) == [2, 3]


def test_defaults_without_any_variable() -> None:
    config = Config.from_env({})
    assert (config.emulator_port, config.mockapi_port, config.region) == (DEFAULT_EMULATOR_PORT, 8080, "us-east-1")
    assert config.state_dir == settings.ROOT / ".testbed"
    assert config.reports_dir == config.state_dir / "reports"
    assert config.aws_endpoint is None and config.allowed_hosts_extra == ()


def test_every_variable_is_read() -> None:
    config = Config.from_env({
        "BACKEND": "Embedded", "TESTBED_STATE_DIR": "/tmp/s", "TESTBED_EMULATOR_PORT": "4570",
        "TESTBED_MOCKAPI_PORT": "8090", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://e:1",
        "TESTBED_MOCKAPI_URL": "http://m:2", "TESTBED_ALLOWED_HOSTS_EXTRA": " a:1, ,b:2 ", "PYTHON_IMAGE": "img",
        "AWS_ACCESS_KEY_ID": "k", "TESTBED_SFN_COV_FAIL_UNDER": "75.5", "TESTBED_AWS_OPT_IN": "1",
        "TESTBED_AWS_API_BASE_URL": "https://api.test", "TESTBED_AWS_RUN_ID": "r1",
        "TESTBED_AWS_REMOVAL_POLICY": "Destroy",
    })
    assert config.backend == "embedded" and config.state_dir == Path("/tmp/s")
    assert (config.emulator_port, config.mockapi_port, config.region) == (4570, 8090, "eu-west-1")
    assert (config.aws_endpoint, config.mockapi_url, config.python_image) == ("http://e:1", "http://m:2", "img")
    assert config.allowed_hosts_extra == ("a:1", "b:2") and config.has_credentials
    assert config.sfn_cov_fail_under == 75.5
    assert (config.aws_opt_in, config.aws_api_base_url, config.aws_run_id, config.aws_removal_policy) == \
        (True, "https://api.test", "r1", "destroy")
    assert not Config.from_env({}).aws_opt_in and Config.from_env({}).aws_removal_policy == "retain"
    assert Config.from_env({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "eu-west-1"}).region == "ap-south-1"


@pytest.mark.parametrize(("variable", "value"), [
    ("TESTBED_EMULATOR_PORT", "70000"), ("TESTBED_EMULATOR_PORT", "65536"), ("TESTBED_MOCKAPI_PORT", "80a"),
    ("TESTBED_MOCKAPI_PORT", "-1"), ("BACKEND", "podman"), ("TESTBED_SFN_COV_FAIL_UNDER", "lots"),
    ("TESTBED_AWS_OPT_IN", "yes"), ("TESTBED_AWS_REMOVAL_POLICY", "snapshot"),
    ("TESTBED_COMPOSE_FILES", "docker-compose.yml,docker-compose.podman.yml"),
])
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Config.from_env({variable: value})


def test_one_port_rule() -> None:
    assert parse_port("65535", "P", 1) == 65535 and parse_port(None, "P", 7) == 7
    assert parse_port("0", "P", 1, allow_any=True) == 0
    with pytest.raises(ConfigError) as refused:
        parse_port("0", "P", 4566)
    assert refused.value.hint and "P=" in refused.value.hint


def test_a_target_comes_from_the_config() -> None:
    config = Config.from_env({"AWS_ENDPOINT_URL": "http://e:1", "AWS_REGION": "eu-west-1"})
    assert aws.Target.of(config) == aws.Target("http://e:1", "eu-west-1", False)
    assert aws.Target.of(config, "http://other:2").endpoint == "http://other:2"
    assert aws.state_machine_arn(aws.Target.of(config), "M", account="1") == "arn:aws:states:eu-west-1:1:stateMachine:M"


def test_port_zero_means_any_free_port_for_docker_and_is_refused_by_the_embedded_stack(tmp_path: Path) -> None:
    from testbed.stacks.base import StackError
    from testbed.stacks.embedded import EmbeddedStack

    config = Config.from_env({"TESTBED_EMULATOR_PORT": "0"})
    assert config.emulator_port == 0
    with pytest.raises(StackError, match="TESTBED_EMULATOR_PORT=0"):
        EmbeddedStack(config, run_dir=tmp_path)


def test_the_compose_files_default_to_the_projects_and_take_the_localstack_override() -> None:
    assert Config.from_env({}).compose_files == ("docker-compose.yml",)
    both = Config.from_env({"TESTBED_COMPOSE_FILES": "docker-compose.yml, docker-compose.localstack.yml"})
    assert both.compose_files == ("docker-compose.yml", "docker-compose.localstack.yml")
