"""Build GenericApiCallLambda's deployment zip: the handler package plus its dependencies.

The zip is byte-for-byte reproducible (sorted entries, fixed timestamps and modes), so its
SHA-256 equals the deployed CodeSha256 when nothing changed and the seed can skip the
upload. Dependencies are installed once per requirements file content into a cache, for
the Python that runs the build (which is the emulator's: MiniStack runs Lambdas with its
own Python), or for TESTBED_LAMBDA_PLATFORM (e.g. manylinux2014_x86_64) when set.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from testbed import settings

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", "bin"}


class PackagingError(RuntimeError):
    """The Lambda's dependencies could not be installed."""


@dataclass(frozen=True)
class LambdaZip:
    data: bytes

    @property
    def code_sha256(self) -> str:
        """The digest as Lambda reports it: base64 of the SHA-256."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()


def build(lambda_dir: Path = settings.LAMBDA_DIR, cache_dir: Path | None = None) -> LambdaZip:
    deps = _dependencies(lambda_dir / "requirements.txt", cache_dir or settings.STATE_DIR / "build")
    files: dict[str, Path] = {}
    for path in _files_under(deps):
        files[path.relative_to(deps).as_posix()] = path
    package = lambda_dir / settings.LAMBDA_PACKAGE
    for path in _files_under(package):
        files[path.relative_to(lambda_dir).as_posix()] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes())
    return LambdaZip(buffer.getvalue())


def _files_under(root: Path) -> list[Path]:
    return [
        p for p in root.rglob("*")
        if p.is_file() and not _SKIP_PARTS.intersection(p.relative_to(root).parts) and p.suffix != ".pyc"
    ]


def _dependencies(requirements: Path, cache_dir: Path) -> Path:
    """Install the pinned requirements into a cache folder keyed by their content."""
    platform = os.environ.get("TESTBED_LAMBDA_PLATFORM", "")
    digest = hashlib.sha256(requirements.read_bytes() + platform.encode()).hexdigest()[:16]
    target = cache_dir / f"lambda-deps-{digest}"
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Install next to the target and rename, so an interrupted build never looks complete.
    staging = Path(tempfile.mkdtemp(prefix="lambda-deps-", dir=cache_dir))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(staging), "-r", str(requirements),
    ]
    if platform:
        # For a Lambda that runs elsewhere (AWS, LocalStack's Lambda containers): wheels for
        # that platform and Python, instead of for the Python running this build.
        command += ["--platform", platform, "--implementation", "cp", "--only-binary=:all:",
                    "--python-version", settings.LAMBDA_RUNTIME.removeprefix("python")]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackagingError(f"pip could not install {requirements}:\n{result.stderr.strip()[-2000:]}")
    try:
        staging.rename(target)
    except OSError:  # another process finished first; its copy is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return target
