"""npm packages the tests need (tests/wiremock/npm-pins.json), fetched once with `npm pack` into
.testbed/npm/, their sha512 checked against the pin, unpacked beside. A second call reuses them."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

from testbed.config import Config
from testbed.deploy import nodejs

PINS = Path(__file__).with_name("wiremock") / "npm-pins.json"
FETCH_TIMEOUT_S = 300


class NpmPackageUnavailable(RuntimeError):
    """npm is missing or the registry cannot be reached: the caller skips, saying so."""


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:  # pytest-xdist workers fetch once between them
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def unpacked(name: str, config: Config | None = None) -> Path:
    """The folder of the pinned package's files (its `package/`)."""
    config = config or Config.from_env()
    pin = json.loads(PINS.read_text())[name]
    folder = config.state_dir / "npm"
    target = folder / f"{name}-{pin['version']}"
    with _locked(folder):
        if (target / "package" / "package.json").is_file():
            return target / "package"
        try:
            path = nodejs.search_path(("npm",), config.environ.get("PATH", os.defpath), purpose="to fetch " + name)
        except nodejs.NodeMissing as exc:
            raise NpmPackageUnavailable(str(exc)) from exc
        result = subprocess.run(["npm", "pack", f"{name}@{pin['version']}", "--pack-destination", str(folder),
                                 "--json"], capture_output=True, text=True, timeout=FETCH_TIMEOUT_S, check=False,
                                env={**config.environ, "PATH": path}, cwd=folder)
        if result.returncode != 0:
            raise NpmPackageUnavailable(f"npm pack {name}@{pin['version']} failed: {result.stderr.strip()[-500:]}")
        tarball = folder / json.loads(result.stdout)[0]["filename"]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != pin["integrity"]:
            tarball.unlink()
            raise RuntimeError(f"{tarball.name}: sha512 {digest} is not the pinned {pin['integrity']} ({PINS})")
        staging = folder / f".{target.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(tarball) as archive:
            # This Python may predate extractall(filter=): refuse links and paths out of the folder.
            for member in archive.getmembers():
                if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in member.name:
                    raise RuntimeError(f"{tarball.name}: unexpected member {member.name!r}")
            archive.extractall(staging)
        tarball.unlink()
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        return target / "package"


if __name__ == "__main__":  # .ci/run: `python -m tests.npm_packages wiremock har-schema` before the tests
    import sys

    for package in sys.argv[1:] or json.loads(PINS.read_text()).keys() - {"_comment"}:
        print(unpacked(package))
