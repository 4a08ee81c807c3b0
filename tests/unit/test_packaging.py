"""The deployment zip: reproducible, and it carries the handler and its dependencies."""

import io
import zipfile

from testbed import packaging


def test_zip_is_reproducible_and_complete():
    first, second = packaging.build(), packaging.build()
    assert first.data == second.data and first.code_sha256 == second.code_sha256
    names = zipfile.ZipFile(io.BytesIO(first.data)).namelist()
    assert "generic_api_call/handler.py" in names
    for dependency in ("jinja2/__init__.py", "requests/__init__.py", "markupsafe/__init__.py", "urllib3/__init__.py"):
        assert dependency in names, dependency
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
