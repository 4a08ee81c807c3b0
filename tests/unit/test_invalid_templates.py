"""The seed refuses each invalid example in tests/invalid_templates/, naming file and field."""

import shutil
from pathlib import Path

import pytest

from testbed.deploy.seed import SeedConfig, validate
from testbed.deploy.templates import TemplateFileError

EXAMPLES = Path(__file__).resolve().parent.parent / "invalid_templates"
BASE_URL = "http://127.0.0.1:8080"


def expected_field(path: Path) -> str:
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# field: "), f"{path.name}: first line must name the expected field"
    return first_line.removeprefix("# field: ")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_seed_refuses_invalid_template(tmp_path, path):
    shutil.copy(path, tmp_path)
    with pytest.raises(TemplateFileError) as raised:
        validate(SeedConfig(api_base_url=BASE_URL, templates_dir=tmp_path))
    message = str(raised.value)
    assert path.name in message
    assert f"'{expected_field(path)}'" in message or f"{expected_field(path)}:" in message, message


def test_shipped_templates_pass_the_same_checks():
    assert len(validate(SeedConfig(api_base_url=BASE_URL))) >= 4
    assert len(validate(SeedConfig(api_base_url="http://mockapi:8080"))) >= 4
