"""Bundle the Lambda without Docker: its package plus pip-installed wheels for Lambda's platform.

CDK calls `LocalBundling.try_bundle` with an empty output folder; we fill it with the
handler package and `pip install --target` of the requirements, at the versions of the
constraints file they name (`-c`: constraints.txt), for `config.LAMBDA_PLATFORM` and the
runtime's Python version (binary wheels only, as AWS needs). Installed wheels are cached per
requirements + constraints content + platform, so a re-synth after a code change copies
instead of downloading.

`source_hash` is the asset hash: source files, requirements, the installed distributions
(name and version), platform and Python version. CDK's default hash would cover the source
folder only, and a stale bundle would be reused after a platform change; a pin bump that
leaves the Lambda's distributions as they were keeps the hash, so nothing is redeployed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import ILocalBundling

from api_stack import config

_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
# Files the installer writes about itself, not the wheels' content: RECORD holds the hashes of
# console scripts whose shebang names the Python that ran pip, so with them the same sources
# bundled on the host and in the emulator image gave different zips under one asset hash (and
# the deploy's CodeSha256 check refused the second). Nothing in a Lambda reads them.
_INSTALLER_FILES = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
# Part of the asset hash and the dependency cache key: a change to what a bundle holds for the
# same sources (as dropping _INSTALLER_FILES was) must give a new asset, not reuse an old key.
BUNDLE_FORMAT = "2"


class BundlingError(RuntimeError):
    """pip could not install the Lambda's requirements for its platform."""


def source_files(lambda_dir: Path) -> list[Path]:
    """The files that make the bundle: the handler package and the requirements."""
    package = lambda_dir / config.LAMBDA_PACKAGE
    files = [p for p in package.rglob("*")
             if p.is_file() and not _SKIP_PARTS.intersection(p.parts) and p.suffix != ".pyc"]
    return sorted([*files, lambda_dir / "requirements.txt"])


def source_hash(lambda_dir: Path, cache_dir: Path, platform: str = config.LAMBDA_PLATFORM) -> str:
    digest = hashlib.sha256(f"{platform}|{config.LAMBDA_RUNTIME}|{BUNDLE_FORMAT}\n".encode())
    for path in source_files(lambda_dir):
        digest.update(path.relative_to(lambda_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    # The versions live in the constraints file, shared with everything else the project pins:
    # what this bundle holds of it is the distributions pip installed (cached, so no extra cost).
    deps = install_dependencies(lambda_dir / "requirements.txt", cache_dir, platform)
    for dist_info in sorted(p.name for p in deps.glob("*.dist-info")):
        digest.update(dist_info.encode() + b"\0")
    return digest.hexdigest()


def _pip_inputs(requirements: Path) -> bytes:
    """The requirements file and the constraints files it names (`-c`): what pip installs from."""
    content = requirements.read_bytes()
    for line in content.decode().splitlines():
        if line.startswith("-c "):
            content += (requirements.parent / line.removeprefix("-c ").strip()).read_bytes()
    return content


def install_dependencies(requirements: Path, cache_dir: Path, platform: str = config.LAMBDA_PLATFORM) -> Path:
    """pip install the requirements for `platform` into a cache folder keyed by their content."""
    key = hashlib.sha256(_pip_inputs(requirements) + f"{platform}|{config.LAMBDA_RUNTIME}|{BUNDLE_FORMAT}".encode())
    target = cache_dir / f"lambda-deps-{key.hexdigest()[:16]}"
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Install beside the target and rename: an interrupted install never looks complete.
    staging = Path(tempfile.mkdtemp(prefix="lambda-deps-", dir=cache_dir))
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(staging), "-r", str(requirements),
        "--platform", platform, "--implementation", "cp", "--only-binary=:all:",
        "--python-version", config.LAMBDA_RUNTIME.removeprefix("python"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BundlingError(f"pip could not install {requirements} for {platform}:\n{result.stderr.strip()[-2000:]}")
    for scripts in staging.glob("bin"):  # console scripts are of no use in a Lambda
        shutil.rmtree(scripts)
    for name in _INSTALLER_FILES:
        for written in staging.glob(f"*.dist-info/{name}"):
            written.unlink()
    try:
        staging.rename(target)
    except OSError:  # another synth finished first; its copy is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return target


@jsii.implements(ILocalBundling)
class LocalBundling:
    """ILocalBundling: CDK never needs Docker for this asset."""

    def __init__(self, lambda_dir: Path, cache_dir: Path, platform: str = config.LAMBDA_PLATFORM) -> None:
        self.lambda_dir = lambda_dir
        self.cache_dir = cache_dir
        self.platform = platform

    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        deps = install_dependencies(self.lambda_dir / "requirements.txt", self.cache_dir, self.platform)
        out = Path(output_dir)
        shutil.copytree(deps, out, dirs_exist_ok=True)
        package = self.lambda_dir / config.LAMBDA_PACKAGE
        shutil.copytree(package, out / config.LAMBDA_PACKAGE, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(*_SKIP_PARTS, "*.pyc"))
        return True
