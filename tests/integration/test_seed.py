"""The seed command: idempotent, and all-or-nothing on a bad template."""

from __future__ import annotations

import shutil

import pytest

from testbed import settings
from testbed.seed import SeedConfig, seed
from testbed.templates import TemplateFileError
from tests.support import unique

pytestmark = pytest.mark.integration


def test_second_seed_changes_nothing(testbed):
    report = testbed.stack.seed()
    assert report.changed == []
    assert report.lines()[-1].strip().startswith("nothing changed")
    assert report.state_machine_arn == testbed.state_machine_arn


def test_bad_template_is_rejected_and_nothing_is_written(testbed, tmp_path):
    good_name, bad_name = unique("good"), unique("bad")
    (tmp_path / f"{good_name}.GET.yaml").write_text(
        f"name: {good_name}\nmethod: GET\nurl: '{{{{ base_url }}}}/x'\n")
    bad = tmp_path / f"{bad_name}.GET.yaml"
    bad.write_text(f"name: {bad_name}\nmethod: GET\nurl: '{{{{ base_url }}}}/{{{{ params.id '\n")

    with pytest.raises(TemplateFileError) as raised:
        seed(SeedConfig(api_base_url=testbed.stack.endpoints.mockapi_for_lambda,
                        endpoint=testbed.stack.endpoints.aws, templates_dir=tmp_path, templates_only=True))

    assert str(bad) in str(raised.value) and "Jinja syntax error" in str(raised.value)
    assert testbed.get_item(good_name, "GET") is None


def test_changed_template_is_updated_alone(testbed, tmp_path):
    name = unique("tpl")
    for path in settings.TEMPLATES_DIR.iterdir():
        shutil.copy(path, tmp_path)
    target = tmp_path / f"{name}.GET.yaml"
    target.write_text(f"name: {name}\nmethod: GET\nurl: '{{{{ base_url }}}}/v1'\n")
    # Templates only: the docker backend's stack is deployed from the assembly in its image.
    config = SeedConfig(api_base_url=testbed.stack.endpoints.mockapi_for_lambda,
                        endpoint=testbed.stack.endpoints.aws, templates_dir=tmp_path, templates_only=True)

    assert seed(config).changed == [f"template {name} GET: created ({target.name})"]
    target.write_text(f"name: {name}\nmethod: GET\nurl: '{{{{ base_url }}}}/v2'\n")
    assert seed(config).changed == [f"template {name} GET: updated ({target.name})"]
    assert testbed.get_item(name, "GET")["url"] == {"S": "{{ base_url }}/v2"}


def test_full_seed_rejects_bad_template_before_any_write(testbed, tmp_path):
    """The full seed (Lambda and state machine included) validates first, too."""
    name = unique("bad")
    (tmp_path / f"{name}.GET.yaml").write_text(f"name: {name}\nmethod: GET\n")

    with pytest.raises(TemplateFileError, match="missing required field 'url'"):
        seed(SeedConfig(api_base_url="http://unused.invalid", endpoint=testbed.stack.endpoints.aws,
                        templates_dir=tmp_path))

    assert testbed.get_item(name, "GET") is None
    assert testbed.stack.seed().changed == []  # the Lambda's configuration was not touched either
