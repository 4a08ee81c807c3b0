"""The seed command: idempotent, and all-or-nothing on a bad template."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from generic_api_call.template import from_plain
from testbed import settings
from testbed.deploy.seed import seed
from testbed.deploy.template_table import put_templates
from testbed.deploy.templates import TemplateFile, TemplateFileError, to_item
from tests.support import unique

pytestmark = pytest.mark.integration


@pytest.mark.emulator_only(reason="the emulator's deployer; on AWS a second `make up` is the CDK CLI's deploy")
def test_second_seed_changes_nothing(testbed):
    report = testbed.stack.seed()
    assert report.changed == []
    assert report.lines()[-1].strip().startswith("nothing changed")
    assert report.state_machine_arn == testbed.state_machine_arn


@pytest.mark.parametrize(("bad_text", "reason"), [
    ("url: '{{{{ base_url }}}}/{{{{ params.id '\n", "Jinja syntax error"),
    # Passed validation before issue 8 (defect 8), then failed at put_item after the good file:
    ("url: '{{{{ base_url }}}}/x'\nbody: {{1: one}}\n", "'body'"),
    ("url: '{{{{ base_url }}}}/x'\nbody: {{tags: !!set {{}}}}\n", "'body.tags'"),
])
def test_bad_template_is_rejected_and_nothing_is_written(testbed, tmp_path, bad_text, reason, cleanups):
    # The good file sorts BEFORE the bad one, so a seed that wrote files one by one would have
    # written it before failing: this test fails for such a seed.
    good_name, bad_name = unique("a-good"), unique("z-bad")
    cleanups += [lambda: testbed.delete_template(good_name, "POST"), lambda: testbed.delete_template(bad_name, "POST")]
    (tmp_path / f"{good_name}.POST.yaml").write_text(
        f"name: {good_name}\nmethod: POST\nurl: '{{{{ base_url }}}}/x'\n")
    bad = tmp_path / f"{bad_name}.POST.yaml"
    bad.write_text(f"name: {bad_name}\nmethod: POST\n" + bad_text.format())
    assert sorted(p.name for p in tmp_path.iterdir())[0].startswith("a-good")

    with pytest.raises(TemplateFileError) as raised:
        seed(testbed.seed_config(templates_dir=tmp_path, templates_only=True))

    assert str(bad) in str(raised.value) and reason in str(raised.value)
    assert testbed.get_item(good_name, "POST") is None


@pytest.mark.not_on("localstack", reason="moto (its DynamoDB) accepts an empty string set that AWS refuses")
def test_a_write_dynamodb_refuses_writes_nothing(testbed, cleanups):
    """put_templates itself is all or nothing: an item DynamoDB refuses keeps the one before it out."""
    good_name, bad_name = unique("a-good"), unique("z-bad")
    cleanups += [lambda: testbed.delete_template(good_name, "GET"), lambda: testbed.delete_template(bad_name, "GET")]
    good = TemplateFile(Path("a.yaml"), from_plain({"PK": good_name, "SK": "GET", "url": "http://x/"}),
                        to_item({"PK": good_name, "SK": "GET", "url": "http://x/"}))
    bad_item = to_item({"PK": bad_name, "SK": "GET", "url": "http://x/"}) | {"tags": {"SS": []}}  # empty set
    bad = TemplateFile(Path("z.yaml"), from_plain({"PK": bad_name, "SK": "GET", "url": "http://x/"}), bad_item)

    with pytest.raises(ClientError):
        put_templates(testbed.client("dynamodb"), [good, bad])

    assert testbed.get_item(good_name, "GET") is None


def test_changed_template_is_updated_alone(testbed, tmp_path, cleanups):
    name = unique("tpl")
    cleanups.append(lambda: testbed.delete_template(name, "GET"))
    templates = tmp_path / "templates"  # the shipped templates name ../contracts/api.yaml
    shutil.copytree(settings.TEMPLATES_DIR, templates)
    shutil.copytree(settings.CONTRACTS_DIR, tmp_path / "contracts")
    target = templates / f"{name}.GET.yaml"
    target.write_text(f"name: {name}\nmethod: GET\nurl: '{{{{ base_url }}}}/v1'\n")
    # Templates only: the docker backend's stack is deployed from the assembly in its image.
    config = testbed.seed_config(templates_dir=templates, templates_only=True)

    assert seed(config).changed == [f"template {name} GET: created ({target.name})"]
    target.write_text(f"name: {name}\nmethod: GET\nurl: '{{{{ base_url }}}}/v2'\n")
    assert seed(config).changed == [f"template {name} GET: updated ({target.name})"]
    assert testbed.get_item(name, "GET")["url"] == {"S": "{{ base_url }}/v2"}


def test_a_deleted_template_file_deletes_its_item_and_nothing_else(testbed, tmp_path, make_template, cleanups):
    # GIVEN two template files seeded from a folder, and a template written by something else
    kept, gone = unique("kept"), unique("gone")
    cleanups += [lambda: testbed.delete_template(kept, "GET"), lambda: testbed.delete_template(gone, "GET")]
    for name in (kept, gone):
        (tmp_path / f"{name}.GET.yaml").write_text(f"name: {name}\nmethod: GET\nurl: '{{{{ base_url }}}}/x'\n")
    config = testbed.seed_config(templates_dir=tmp_path, templates_only=True)
    seed(config)
    other = make_template(url="{{ base_url }}/other")

    # WHEN one file is deleted and the folder is seeded again
    (tmp_path / f"{gone}.GET.yaml").unlink()
    report = seed(config)

    # THEN its item is deleted, and only that one: not the other file's, not the one written by
    # the test, and not the shipped templates (the stack's own seed wrote those, from seed/templates)
    assert report.changed == [f"template {gone} GET: deleted ({gone}.GET.yaml is gone)"]
    assert testbed.get_item(gone, "GET") is None
    assert testbed.get_item(kept, "GET")["seededFrom"] == {"S": f"{tmp_path.resolve().as_posix()}/{kept}.GET.yaml"}
    assert testbed.get_item(other, "GET") is not None
    assert testbed.get_item("get_user", "GET")["seededFrom"] == {"S": "seed/templates/get_user.GET.yaml"}
    assert seed(config).changed == []


@pytest.mark.emulator_only(reason="ends with a second seed through the emulator's deployer")
def test_full_seed_rejects_bad_template_before_any_write(testbed, tmp_path, cleanups):
    """The full seed (Lambda and state machine included) validates first, too."""
    name = unique("bad")
    cleanups.append(lambda: testbed.delete_template(name, "GET"))
    (tmp_path / f"{name}.GET.yaml").write_text(f"name: {name}\nmethod: GET\n")

    with pytest.raises(TemplateFileError, match="missing required field 'url'"):
        seed(testbed.seed_config(api_base_url="http://unused.invalid", templates_dir=tmp_path))

    assert testbed.get_item(name, "GET") is None
    assert testbed.stack.seed().changed == []  # the Lambda's configuration was not touched either
