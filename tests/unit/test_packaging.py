"""The deployment zip of an asset folder: reproducible, complete, without bytecode."""

import io
import zipfile
from pathlib import Path

import pytest

from testbed.deploy import packaging


def _folder(root: Path) -> Path:
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "handler.py").write_text("def handler(e, c):\n    return e\n")
    (root / "pkg" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (root / "dep.py").write_text("X = 1\n")
    return root


def test_zip_is_reproducible_and_complete(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    first, second = packaging.zip_folder(folder), packaging.zip_folder(folder)
    assert first.data == second.data and first.code_sha256 == second.code_sha256
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert names == ["dep.py", "pkg/__init__.py", "pkg/handler.py"]


def test_a_missing_or_empty_asset_folder_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(packaging.PackagingError, match="make synth"):
        packaging.zip_folder(tmp_path / "nope")
    with pytest.raises(packaging.PackagingError, match="empty"):
        packaging.zip_folder(tmp_path)
