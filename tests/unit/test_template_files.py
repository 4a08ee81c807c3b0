"""Template data files: every shipped file is valid; bad ones are named with the reason."""

from pathlib import Path

import pytest

from testbed import settings
from testbed.deploy.templates import TemplateFileError, load_dir, load_file

GOOD = """\
name: {name}
method: GET
url: "{{{{ base_url }}}}/x/{{{{ params.id }}}}"
"""


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(text)
    return path


def test_shipped_templates_are_valid():
    loaded = load_dir(settings.TEMPLATES_DIR)
    assert {f.key for f in loaded} >= {
        ("get_user", "GET"), ("create_order", "POST"), ("get_profile", "GET"), ("get_status", "GET"),
    }


def test_item_is_in_attribute_value_form(tmp_path):
    path = write(tmp_path, "a.GET.yaml", GOOD.format(name="a") + "timeoutSeconds: 2.5\nbody: {n: 1}\n")
    item = load_file(path).item
    assert item["PK"] == {"S": "a"} and item["SK"] == {"S": "GET"}
    assert item["timeoutSeconds"] == {"N": "2.5"}
    assert item["body"] == {"M": {"n": {"N": "1"}}}


@pytest.mark.parametrize(("filename", "text", "reason"), [
    ("a.GET.yaml", "name: a\nmethod: GET\n", "missing required field 'url'"),
    ("a.GET.yaml", "method: GET\nurl: http://x\n", "field 'name' is missing"),
    ("a.GET.yaml", "name: a\nmethod: GET\nurl: 42\n", "'url' must be a non-empty string"),
    ("a.GET.yaml", "name: a\nmethod: GET\nurl: 'http://x/{{ params.id '\n", "url: Jinja syntax error"),
    ("a.GET.yaml", "name: a\nmethod: GET\nurl: http://x\ntimeoutSeconds: soon\n", "'timeoutSeconds' must be a number"),
    ("a.GET.yaml", "name: a\nmethod: GET\nurl: http://x\nheaderz: {}\n", "unknown field"),
    ("a.GET.yaml", "[1, 2]\n", "must contain a map"),
    ("a.GET.yaml", "name: a\nmethod: GET\nurl: [\n", "cannot be read as YAML"),
    ("b.GET.yaml", GOOD.format(name="a"), "does not match the file name: rename it a.GET.yaml"),
])
def test_bad_file_is_named_with_reason(tmp_path, filename, text, reason):
    path = write(tmp_path, filename, text)
    with pytest.raises(TemplateFileError, match=reason) as raised:
        load_file(path)
    assert str(path) in str(raised.value)


def test_duplicate_templates_are_refused(tmp_path):
    write(tmp_path, "a.GET.yaml", GOOD.format(name="a"))
    write(tmp_path, "a.GET.json", '{"name": "a", "method": "GET", "url": "http://x"}')
    with pytest.raises(TemplateFileError, match="duplicate template"):
        load_dir(tmp_path)


def test_empty_directory_is_refused(tmp_path):
    with pytest.raises(TemplateFileError, match="no template files"):
        load_dir(tmp_path)


def test_an_item_over_dynamodbs_400_kb_is_refused_before_any_write(tmp_path):
    # issue 8, defect 8: it passed validation, then failed at put_item (the description is the one
    # field without a limit of its own: url, headers, query and body share MAX_TEMPLATE_CHARS)
    note = "n" * (401 * 1024)
    path = write(tmp_path, "big.POST.yaml", f"name: big\nmethod: POST\nurl: http://x/\ndescription: {note}\n")
    with pytest.raises(TemplateFileError, match="over DynamoDB's 409600-byte limit"):
        load_file(path)


@pytest.mark.parametrize(("body", "field"), [
    ("{1: one}", "'body'"),
    ("{tags: !!set {}}", "'body.tags'"),
    ("{n: .nan}", "'body.n'"),
    ("{n: .inf}", "'body.n'"),
    ("{when: 2026-11-29}", "'body.when'"),
    ("{n: 123456789012345678901234567890123456789012}", "'body.n'"),
    ("{n: 1.0e-200}", "'body.n'"),
    ("{b: !!binary aGVsbG8=}", "'body.b'"),
    ("[" * 40 + "]" * 40, "'body"),
])
def test_values_dynamodb_refuses_are_named(tmp_path, body, field):
    path = write(tmp_path, "v.POST.yaml", f"name: v\nmethod: POST\nurl: http://x/\nbody: {body}\n")
    with pytest.raises(TemplateFileError) as raised:
        load_file(path)
    assert field in str(raised.value) and "Traceback" not in str(raised.value)


DEADLINE_SECONDS = 10.0


def _load_with_deadline(directory: Path) -> BaseException | None:
    """load_dir(directory) in a thread: what it raised, or an AssertionError if it is still
    blocked at the deadline (it is then released by writing to every FIFO in the folder)."""
    import os
    import threading

    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_dir(directory)
            outcome.append(None)
        except BaseException as exc:  # handed to the test's thread
            outcome.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(DEADLINE_SECONDS)
    if thread.is_alive():
        for fifo in directory.iterdir():
            if fifo.is_fifo():
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # EOF for the blocked reader
        thread.join(DEADLINE_SECONDS)
        return AssertionError(f"load_dir still blocked after {DEADLINE_SECONDS:g}s")
    return outcome[0]


def test_a_fifo_named_like_a_template_is_refused_not_read(tmp_path):
    import os

    write(tmp_path, "a.GET.yaml", GOOD.format(name="a"))
    fifo = tmp_path / "x.GET.yaml"
    os.mkfifo(fifo)
    raised = _load_with_deadline(tmp_path)
    assert isinstance(raised, TemplateFileError), raised
    assert str(raised) == (f"{fifo}: is a FIFO (named pipe), not a regular file: remove it, or rename it "
                           "without a template suffix (.yaml, .yml, .json)")


def test_a_folder_named_like_a_template_is_refused(tmp_path):
    (tmp_path / "x.GET.yaml").mkdir()
    with pytest.raises(TemplateFileError, match=r"x\.GET\.yaml: is a directory, not a regular file"):
        load_dir(tmp_path)


def test_a_link_to_a_template_file_is_read(tmp_path):
    target = write(tmp_path, "elsewhere.txt", GOOD.format(name="linked"))
    (tmp_path / "linked.GET.yaml").symlink_to(target)
    assert [f.key for f in load_dir(tmp_path)] == [("linked", "GET")]


def test_a_file_too_large_to_be_a_template_is_refused_unread(tmp_path):
    """A 100 MB file named like a template held the seed and the watch for minutes in PyYAML."""
    from testbed.deploy.templates import MAX_FILE_BYTES

    big = write(tmp_path, "big.GET.yaml", GOOD.format(name="big") + "description: " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(TemplateFileError, match=r"big\.GET\.yaml: is larger than 512 KiB \(MAX_FILE_BYTES\)"):
        load_dir(tmp_path)
    big.write_text(GOOD.format(name="big") + "# " + "x" * (MAX_FILE_BYTES - 200) + "\n")  # just under: read
    assert [f.key for f in load_dir(tmp_path)] == [("big", "GET")]
