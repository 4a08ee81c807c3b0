"""The seed refuses each invalid example in tests/invalid_templates/, naming file and field."""

import shutil
from pathlib import Path

import pytest

from testbed import settings
from testbed.deploy.seed import SeedConfig, validate
from testbed.deploy.templates import TEMPLATE_SUFFIXES, TemplateFileError

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
    """Every shipped file passes, for both base URLs the stacks use: none is skipped or merged."""
    files = sorted(p.name for p in settings.TEMPLATES_DIR.iterdir() if p.suffix in TEMPLATE_SUFFIXES)
    assert {"get_user.GET.yaml", "create_order.POST.yaml", "get_profile.GET.yaml", "get_status.GET.yaml"} <= set(files)
    for base_url in (BASE_URL, "http://mockapi:8080"):
        validated = validate(SeedConfig(api_base_url=base_url))
        assert [f.path.name for f in validated] == files
        assert [f"{f.template.name}.{f.template.method}" for f in validated] == [Path(name).stem for name in files]
