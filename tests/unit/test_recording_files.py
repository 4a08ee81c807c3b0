"""A recording is written only when no file would hold a secret; drift compares shapes, not values."""

from __future__ import annotations

from pathlib import Path

import pytest

from generic_api_call.secrets import forms
from mockapi.har import har_log
from testbed.record import drift, files
from testbed.record.secrets import every_form

SECRET = "s3cr3t/välue+1"


def test_a_secret_in_any_form_refuses_the_write_naming_the_file_not_the_value(tmp_path: Path) -> None:
    folder = tmp_path / "rec"
    for form in every_form([SECRET]):
        mapping = {"id": "6f1c1c4e-0000-4000-8000-000000000001", "name": "users",
                   "request": {"url": f"/users?q={form}"}, "response": {"status": 200}}
        with pytest.raises(files.RecordingFileError) as caught:
            files.write_recording(folder, [mapping], har_log([]), every_form([SECRET]))
        assert "mappings/users-6f1c1c4e-0000-4000-8000-000000000001.json" in str(caught.value)
        assert form not in str(caught.value) and not folder.exists()


def test_every_form_the_lambda_masks_is_scanned() -> None:
    assert set(forms(SECRET)) <= set(every_form([SECRET]))


def test_shape_changes_name_keys_and_types_not_values() -> None:
    before = drift.shape({"id": 1, "tags": ["a"], "user": {"name": "x"}, "n": None})
    after = drift.shape({"id": "1", "user": {"name": "y", "age": 3}, "n": None, "extra": [1]})
    assert drift.shape_changes(before, after) == [
        "$.tags: removed", "$.extra: added (array)", "$.id: number -> string", "$.user.age: added (number)"]
    assert drift.shape_changes(before, drift.shape({"id": 2, "tags": ["b"], "user": {"name": "z"}, "n": None})) == []
