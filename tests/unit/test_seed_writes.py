"""The seed's writes: a template file deleted from a folder deletes the item that folder wrote,
and nothing else; all or nothing (in memory: tests/support.py FakeTable; against the emulator:
tests/integration/test_seed.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generic_api_call.template import from_dynamodb_item, from_plain
from testbed import settings
from testbed.deploy.template_table import ChangedMeanwhile, folder_name, owner_changes, put_templates
from testbed.deploy.templates import SEEDED_FROM, TemplateFile, load_dir, to_item
from tests.support import FakeTable


def template_file(name: str, folder: str | None, description: str = "", suffix: str = ".yaml") -> TemplateFile:
    plain: dict[str, Any] = {"PK": name, "SK": "GET", "url": "{{ base_url }}/", "description": description}
    if folder is not None:
        plain[SEEDED_FROM] = f"{folder}/{name}.GET{suffix}"
    return TemplateFile(path=Path(f"{name}.GET{suffix}"), template=from_plain(plain), item=to_item(plain))


def stored(*files: TemplateFile) -> dict[tuple[str, str], dict[str, Any]]:
    return {f.key: f.item for f in files}


def test_a_deleted_file_deletes_the_item_its_folder_wrote_and_nothing_else() -> None:
    # GIVEN items seeded from folder "a" (one from a folder inside it), from folder "b", one
    # written by hand, and hand-written ones whose seededFrom is not the text the seed writes for
    # their key in "a" (copied from another item, another suffix, a path that only resolves to it)
    odd = {name: template_file(name, None).item | {SEEDED_FROM: {"S": seeded_from}} for name, seeded_from in [
        ("copied", "a/kept.GET.yaml"), ("suffix", "a/suffix.GET.txt"), ("dotted", "a/./dotted.GET.yaml")]}
    table = FakeTable(stored(template_file("kept", "a"), template_file("gone", "a"), template_file("nested", "a/sub"),
                             template_file("other", "b"), template_file("manual", None))
                      | {(name, "GET"): item for name, item in odd.items()})
    # WHEN folder "a" now holds only "kept"
    report = put_templates(table, [template_file("kept", "a")], folder="a")
    # THEN only "gone" is deleted
    assert report.changed == ["template gone GET: deleted (gone.GET.yaml is gone)"]
    assert set(table.items) == {("kept", "GET"), ("nested", "GET"), ("other", "GET"), ("manual", "GET"),
                                ("copied", "GET"), ("suffix", "GET"), ("dotted", "GET")}


def test_an_item_another_folder_wrote_keeps_its_folder_while_the_template_is_the_same() -> None:
    # A test's folder seeding a copy of a template must not take its item over (nor may two
    # folders take it in turns): the folder that last changed an item is the one that deletes it.
    table = FakeTable(stored(template_file("shared", "/tmp/a")))
    report = put_templates(table, [template_file("shared", "/tmp/copy")], folder="/tmp/copy")
    assert report.changed == [] and report.unchanged == ["template shared GET"]
    assert table.items[("shared", "GET")][SEEDED_FROM] == {"S": "/tmp/a/shared.GET.yaml"}

    report = put_templates(table, [template_file("shared", "/tmp/copy", "edited")], folder="/tmp/copy")
    assert report.changed == ["template shared GET: updated (shared.GET.yaml)"]
    assert table.items[("shared", "GET")][SEEDED_FROM] == {"S": "/tmp/copy/shared.GET.yaml"}


@pytest.mark.parametrize(("before", "after", "written"), [
    (None, "seed/templates/t.GET.yaml", True),  # seeded before items named their file
    ("seed/templates/t.GET.yaml", "seed/templates/t.GET.yaml", False),
    ("seed/templates/t.GET.yaml", "seed/templates/t.GET.json", True),  # renamed: the name must stay true
    ("/tmp/scratch/t.GET.yaml", "seed/templates/t.GET.yaml", True),  # a source tree's folder takes it back
    ("seed/templates/t.GET.yaml", "/tmp/scratch/t.GET.yaml", False),  # a folder outside one does not
    ("/tmp/a/t.GET.yaml", "/tmp/b/t.GET.yaml", False),
    ("other/t.GET.yaml", "seed/templates/t.GET.yaml", False),
])
def test_when_an_unchanged_template_changes_folder(before: str | None, after: str, written: bool) -> None:
    assert owner_changes(before, after) is written


def test_the_folder_of_a_source_tree_takes_back_an_item_so_deleting_its_file_deletes_it() -> None:
    # GIVEN an item a scratch folder (since gone) wrote last, and seed/templates with the same template
    table = FakeTable(stored(template_file("t", "/tmp/scratch"), template_file("u", "seed/templates")))
    put_templates(table, [template_file("t", "seed/templates"), template_file("u", "seed/templates")],
                  folder="seed/templates")
    # WHEN its file is deleted from seed/templates
    report = put_templates(table, [template_file("u", "seed/templates")], folder="seed/templates")
    # THEN the item goes
    assert report.changed == ["template t GET: deleted (t.GET.yaml is gone)"]
    assert set(table.items) == {("u", "GET")}


def test_deletes_are_put_back_when_a_later_write_is_refused() -> None:
    # 120 deletions take two transactions before the refused put: both are undone.
    before = stored(*(template_file(f"g{i:03d}", "a") for i in range(120)))
    table = FakeTable(before)
    with pytest.raises(RuntimeError, match="ValidationException"):
        put_templates(table, [template_file("new", "a", "refused")], folder="a")
    assert table.items == before


def test_an_item_rewritten_after_the_scan_is_not_deleted() -> None:
    # Another seed (the docker stack's hook, a second checkout) writes the item between this
    # seed's read and its delete: the delete is refused, and nothing is written.
    class RewrittenDuringTheScan(FakeTable):
        def paginate(self, **kwargs: Any) -> Any:
            yield from super().paginate(**kwargs)
            self.items[("gone", "GET")] = template_file("gone", "/tmp/other").item

    table = RewrittenDuringTheScan(stored(template_file("gone", "a")))
    with pytest.raises(ChangedMeanwhile, match=r"template gone GET changed .* nothing was written: run it again"):
        put_templates(table, [template_file("new", "a")], folder="a")
    assert set(table.items) == {("gone", "GET")}


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
