"""Zip a CDK file asset (a folder) as the deployment package, byte-for-byte reproducibly.

The CDK app bundles the Lambda into a folder (infra/api_stack/bundling.py); this module turns
that folder into the zip that is uploaded to the asset bucket. Entries are sorted, with fixed
timestamps and modes, so the same folder always gives the same bytes and the deployed
function's CodeSha256 can be checked against `LambdaZip.code_sha256`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from testbed.errors import TestbedError

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__"}


class PackagingError(TestbedError):
    """An asset folder is missing or empty."""


@dataclass(frozen=True)
class LambdaZip:
    data: bytes

    @property
    def code_sha256(self) -> str:
        """The digest as Lambda reports it: base64 of the SHA-256."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


def zip_folder(folder: Path) -> LambdaZip:
    if not folder.is_dir():
        raise PackagingError(f"asset folder {folder} does not exist: synthesize again (make synth)")
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not _SKIP_PARTS.intersection(p.relative_to(folder).parts) and p.suffix != ".pyc"
    )
    if not files:
        raise PackagingError(f"asset folder {folder} is empty: synthesize again (make synth)")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return LambdaZip(buffer.getvalue())


@dataclass(frozen=True)
class PublishedAsset:
    bucket: str
    key: str
    code_sha256: str  # for zip assets: what Lambda reports for this code
