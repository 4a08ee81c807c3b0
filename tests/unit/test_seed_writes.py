"""The seed's writes: a template file deleted from a folder deletes the item that folder wrote,
and nothing else; all or nothing (in memory: tests/support.py FakeTable; against the emulator:
tests/integration/test_seed.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generic_api_call.template import from_dynamodb_item, from_plain
from testbed import settings
from testbed.seed import SeedReport, folder_name, put_templates
from testbed.templates import SEEDED_FROM, TemplateFile, load_dir, to_item
from tests.support import FakeTable


def template_file(name: str, folder: str | None, description: str = "") -> TemplateFile:
    plain: dict[str, Any] = {"PK": name, "SK": "GET", "url": "{{ base_url }}/", "description": description}
    if folder is not None:
        plain[SEEDED_FROM] = f"{folder}/{name}.GET.yaml"
    return TemplateFile(path=Path(f"{name}.GET.yaml"), template=from_plain(plain), item=to_item(plain))


def stored(*files: TemplateFile) -> dict[tuple[str, str], dict[str, Any]]:
    return {f.key: f.item for f in files}


def test_a_deleted_file_deletes_the_item_its_folder_wrote_and_nothing_else() -> None:
    # GIVEN items seeded from folder "a" (one of them in a folder inside it), from folder "b",
    # and one written by something else than the seed
    table = FakeTable(stored(template_file("kept", "a"), template_file("gone", "a"), template_file("nested", "a/sub"),
                             template_file("other", "b"), template_file("manual", None)))
    report = SeedReport()
    # WHEN folder "a" now holds only "kept"
    put_templates(table, [template_file("kept", "a")], report, folder="a")
    # THEN only "gone" is deleted
    assert report.changed == ["template gone GET: deleted (gone.GET.yaml is gone)"]
    assert set(table.items) == {("kept", "GET"), ("nested", "GET"), ("other", "GET"), ("manual", "GET")}


def test_an_item_another_folder_wrote_keeps_its_folder_while_the_template_is_the_same() -> None:
    # A copy of the folder (a test's, another checkout's) must not take the items over: the
    # folder that wrote an item last is the one whose deleted file deletes it.
    table = FakeTable(stored(template_file("shared", "a")))
    report = SeedReport()
    put_templates(table, [template_file("shared", "copy")], report, folder="copy")
    assert report.changed == [] and report.unchanged == ["template shared GET"]
    assert table.items[("shared", "GET")][SEEDED_FROM] == {"S": "a/shared.GET.yaml"}

    put_templates(table, [template_file("shared", "copy", "edited")], report, folder="copy")
    assert report.changed == ["template shared GET: updated (shared.GET.yaml)"]
    assert table.items[("shared", "GET")][SEEDED_FROM] == {"S": "copy/shared.GET.yaml"}


def test_an_item_the_seed_did_not_mark_is_taken_over_by_its_file() -> None:
    # Items seeded before the marker existed: the next seed marks them, so a later deletion counts.
    table = FakeTable(stored(template_file("old", None)))
    report = SeedReport()
    put_templates(table, [template_file("old", "a")], report, folder="a")
    assert report.changed == ["template old GET: updated (old.GET.yaml)"]
    assert table.items[("old", "GET")][SEEDED_FROM] == {"S": "a/old.GET.yaml"}


def test_deletes_are_put_back_when_a_later_write_is_refused() -> None:
    # 120 deletions take two transactions before the refused put: both are undone.
    gone = [template_file(f"g{i:03d}", "a") for i in range(120)]
    before = stored(*gone)
    table = FakeTable(before)
    with pytest.raises(RuntimeError, match="ValidationException"):
        put_templates(table, [template_file("new", "a", "refused")], folder="a")
    assert table.items == before


def test_folder_name_is_the_path_in_the_source_tree(tmp_path: Path) -> None:
    tree = tmp_path / "copy"
    (tree / "seed" / "templates").mkdir(parents=True)
    assert folder_name(settings.TEMPLATES_DIR) == "seed/templates"
    assert folder_name(tree / "seed" / "templates", source_root=tree) == "seed/templates"
    assert folder_name(settings.TEMPLATES_DIR, source_root=tree) == "seed/templates"  # a copy deploying this tree's
    assert folder_name(tmp_path) == tmp_path.resolve().as_posix()


def test_seeded_items_name_their_file_and_the_lambda_ignores_it() -> None:
    files = load_dir(settings.TEMPLATES_DIR, "seed/templates")
    assert all(f.item[SEEDED_FROM] == {"S": f"seed/templates/{f.path.name}"} for f in files)
    assert all(from_dynamodb_item(f.item) == f.template for f in files)
    assert all(SEEDED_FROM not in f.item for f in load_dir(settings.TEMPLATES_DIR))
